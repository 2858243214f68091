"""The settings and weights caches behind the pages, on real SQLite files: a save counts at once in
the same server, a save from another process counts after the next render's revalidation, and a
weights check is kept until the model folders change or the user rescans."""

from __future__ import annotations

import pytest

from studio.config import Paths
from studio.devtools.tiny.i2vgen_xl import build_tiny_i2vgen_xl
from studio.services import build_services


@pytest.fixture()
def paths(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-cache"))
    return Paths(data_dir=tmp_path / "data", logs_dir=tmp_path / "logs",
                 database_url=f"sqlite:///{tmp_path / 'data' / 'studio.db'}")


def test_a_save_counts_at_once_here_and_after_revalidation_in_another_process(paths):
    server, other = build_services(paths), build_services(paths, migrate_db=False)
    try:
        changed = server.settings()
        changed.sweep_confirm_above = 7
        assert server.settings().sweep_confirm_above != 7  # editing a copy changes nothing
        server.apply_settings(changed)
        assert server.settings().sweep_confirm_above == 7

        assert other.settings().sweep_confirm_above == 12  # loaded when it was built
        other.revalidate_settings()
        assert other.settings().sweep_confirm_above == 7
        elsewhere = other.settings()
        elsewhere.sweep_confirm_above = 9
        other.apply_settings(elsewhere)
        assert server.settings().sweep_confirm_above == 7  # cached until the next render asks
        server.revalidate_settings()
        assert server.settings().sweep_confirm_above == 9
    finally:
        other.close()
        server.close()


def test_weights_are_checked_once_per_model_folders_until_a_rescan(paths, tmp_path):
    services = build_services(paths)
    try:
        assert services.weights_status("i2vgen-xl").state == "missing"
        models = tmp_path / "models"
        build_tiny_i2vgen_xl(models / "ali-vilab--i2vgen-xl")
        assert services.weights_status("i2vgen-xl").state == "missing"  # kept: nothing changed here
        services.rescan_models()
        assert services.weights_status("i2vgen-xl").state == "missing"  # not in any model folder yet

        settings = services.settings()
        settings.model_dirs = [str(models)]
        services.apply_settings(settings)
        assert services.weights_status("i2vgen-xl").ready  # new folders are a new key
        assert services.default_engine_id() == "i2vgen-xl"
    finally:
        services.close()
