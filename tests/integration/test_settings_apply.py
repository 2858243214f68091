"""Settings saved on the Settings page take effect at once, without a restart."""

from pathlib import Path

import pytest

from studio.config import Paths
from studio.devtools.tiny.i2vgen_xl import build_tiny_i2vgen_xl
from studio.services import build_services


def test_a_new_model_folder_makes_its_engine_ready_immediately(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-cache"))
    services = build_services(Paths(data_dir=tmp_path / "data", logs_dir=tmp_path / "logs",
                                    database_url=f"sqlite:///{tmp_path / 'data' / 'studio.db'}"))
    try:
        assert services.registry.status("i2vgen-xl").state == "missing"
        models = tmp_path / "models"
        build_tiny_i2vgen_xl(models / "ali-vilab--i2vgen-xl")  # laid out like the hub id
        settings = services.settings()
        settings.model_dirs = [str(models)]
        settings.output_dir = str(tmp_path / "elsewhere")
        services.apply_settings(settings)
        status = services.registry.status("i2vgen-xl")
        assert status.ready and Path(status.location) == models / "ali-vilab--i2vgen-xl"
        assert services.storage.outputs_dir == tmp_path / "elsewhere"
        assert services.registry.default_engine_id(services.settings()) == "i2vgen-xl"
    finally:
        services.close()


def test_an_output_folder_that_cannot_be_written_is_refused_and_nothing_is_saved(tmp_path):
    services = build_services(Paths(data_dir=tmp_path / "data", logs_dir=tmp_path / "logs",
                                    database_url=f"sqlite:///{tmp_path / 'data' / 'studio.db'}"))
    try:
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder")
        settings = services.settings()
        settings.output_dir = str(blocker / "outputs")
        settings.developer_mode = True
        with pytest.raises(ValueError, match="cannot be created there"):
            services.apply_settings(settings)
        assert services.settings().output_dir == "" and not services.settings().developer_mode
    finally:
        services.close()


@pytest.mark.parametrize(("chosen", "says"), [
    # /proc exists, but no folder can be made in it: the OS says "No such file or directory".
    ("/proc/studio-outputs", "/proc/studio-outputs cannot be created there"),
    ("{tmp}/a-file", "is a file, not a folder"),
])
def test_an_output_folder_that_cannot_be_made_says_what_is_wrong_with_it(tmp_path, chosen, says):
    services = build_services(Paths(data_dir=tmp_path / "data", logs_dir=tmp_path / "logs",
                                    database_url=f"sqlite:///{tmp_path / 'data' / 'studio.db'}"))
    try:
        (tmp_path / "a-file").write_text("not a folder")
        settings = services.settings()
        settings.output_dir = chosen.format(tmp=tmp_path)
        with pytest.raises(ValueError, match=says) as refused:
            services.apply_settings(settings)
        assert "the settings were not saved" in str(refused.value)
        assert services.settings().output_dir == ""
    finally:
        services.close()
