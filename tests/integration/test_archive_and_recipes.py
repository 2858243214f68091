"""Parameters travel with every file; runs move between studios as a zip."""

import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from studio.archive import ArchiveError, export_runs, import_runs, why_not_exported
from studio.jobs.queue import SubmitRequest
from studio.media.encode import probe_video
from studio.recipes import NotARecipe, read_recipe
from tests.integration.conftest import SMALL, make_services


@pytest.fixture()
def studio(tmp_path, database_url):
    services = make_services(tmp_path / "a", database_url)
    yield services
    services.close()


def make_run(services, **params) -> int:
    image = Image.new("RGB", (80, 60), (200, 120, 40))
    run_id = services.queue.submit(SubmitRequest(engine="motion", params={**SMALL, **params}, image=image, image_name="in.png"))
    services.worker.run_until_idle()
    return run_id


def test_every_mp4_and_its_sidecar_carry_the_exact_parameters(studio):
    run = studio.history.get_run(make_run(studio, prompt="drift over dunes", motion="drift", guidance=2.5, seed=42))
    video = Path(run.video_path)
    from_mp4 = read_recipe(video.read_bytes(), video.name)
    from_json = read_recipe(video.with_suffix(".json").read_bytes(), "run.json")
    assert from_mp4.params == from_json.params == run.params
    assert from_mp4.engine == "motion" and from_mp4.run_id == run.id and from_mp4.params["seed"] == 42
    assert from_mp4.manifest["engine"] == "motion"
    # Saved again by an editor that begins files with a byte-order mark (Windows Notepad): still a recipe.
    with_bom = b"\xef\xbb\xbf" + video.with_suffix(".json").read_bytes()
    assert read_recipe(with_bom, "edited.json").params == run.params


def test_files_that_are_not_studio_recipes_are_refused_clearly(tmp_path):
    with pytest.raises(NotARecipe, match="not valid JSON"):
        read_recipe(b"{nope", "x.json")
    with pytest.raises(NotARecipe, match="not a studio recipe"):
        read_recipe(json.dumps({"engine": "motion"}).encode(), "other.json")
    with pytest.raises(NotARecipe, match="not a video"):
        read_recipe(b"not a video at all", "clip.mp4")


@pytest.mark.both_dialects
def test_export_then_import_into_another_studio_keeps_runs_media_tags_and_lineage(studio, tmp_path, second_database_url):
    parent = make_run(studio, prompt="harbour at dusk", seed=1)
    child = studio.queue.rerun(parent, new_seed=True)
    studio.worker.run_until_idle()
    studio.history.set_tags(child, ["keeper", "dusk"])
    studio.history.set_favorite(child, True)
    bundle = export_runs(studio.sessions, [parent, child], tmp_path / "export.zip")
    with zipfile.ZipFile(bundle) as archive:
        assert "runs.json" in archive.namelist() and sum(n.endswith(".mp4") for n in archive.namelist()) == 2

    other = make_services(tmp_path / "b", second_database_url)
    try:
        make_run(other, prompt="already here")  # the other studio has history of its own
        new_parent, new_child = import_runs(other.sessions, other.storage, bundle)
        p, c = other.history.get_runs([new_parent, new_child])
        assert p.prompt == "harbour at dusk" and p.seed == 1 and p.status == "succeeded"
        assert c.parent_id == p.id and c.favorite and c.tag_names == ["dusk", "keeper"]
        assert probe_video(Path(c.video_path)).frames == 6 and Path(c.thumb_path).exists()
        assert Path(c.video_path).parent.parent == other.storage.outputs_dir  # copied, not pointing at studio A
        assert Path(c.input_image.path).exists()
        assert other.history.list_runs_count() == 3
    finally:
        other.close()


def test_a_damaged_zip_is_refused_and_changes_nothing(studio, tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("runs.json", json.dumps({"format": "video-studio-export", "version": 1,
                                                   "runs": [{"export_id": 1, "media": {"video_path": "media/missing.mp4"}}]}))
    with pytest.raises(ArchiveError, match="incomplete"):
        import_runs(studio.sessions, studio.storage, bad)
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../../escape.txt", "x")
        archive.writestr("runs.json", "{}")
    with pytest.raises(ArchiveError, match="unsafe path"):
        import_runs(studio.sessions, studio.storage, evil)
    (tmp_path / "text.zip").write_text("hello")
    with pytest.raises(ArchiveError, match="not a zip"):
        import_runs(studio.sessions, studio.storage, tmp_path / "text.zip")
    assert studio.history.list_runs_count() == 0


def test_an_export_leaves_out_a_run_whose_video_was_deleted_and_says_why(studio, tmp_path):
    """Its row alone would import as a succeeded run with nothing to play."""
    kept, lost = make_run(studio), make_run(studio, seed=9)
    video = Path(studio.history.get_run(lost).video_path)
    video.unlink()
    assert why_not_exported(studio.history.get_run(lost)) == f"its video is gone from disk ({video})"
    assert why_not_exported(studio.history.get_run(kept)) is None
    with zipfile.ZipFile(export_runs(studio.sessions, [kept, lost], tmp_path / "out.zip")) as archive:
        exported = [row["export_id"] for row in json.loads(archive.read("runs.json"))["runs"]]
    assert exported == [kept]
    with pytest.raises(ArchiveError, match="Nothing to export: choose finished runs whose videos are still on disk"):
        export_runs(studio.sessions, [lost], tmp_path / "none.zip")
    assert not (tmp_path / "none.zip").exists()
