"""An export zip is untrusted input: a crafted one must not write or delete files outside the
studio, put rows in the history that break the gallery or get run, or exhaust disk and memory.
Each refusal leaves the database and every folder as they were."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage
from sqlalchemy import func, select

from studio.archive import SKIPPED_COLUMNS, ArchiveError, export_runs, import_runs
from studio.archive_schema import field_names
from studio.db.engine import session_scope
from studio.db.models import Image, Run
from studio.jobs.queue import SubmitRequest
from tests.integration.conftest import SMALL, make_services, picture


# ----- a real export, and ways to tamper with it ---------------------------------------------------

@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """A zip exported by a real studio: two finished runs, parent and child, with media and input."""
    root = tmp_path_factory.mktemp("source")
    source = make_services(root / "studio")
    try:
        parent = source.queue.submit(SubmitRequest(engine="motion", params={**SMALL, "prompt": "dunes"},
                                                   image=picture(), image_name="in.png"))
        source.worker.run_until_idle()
        child = source.queue.rerun(parent, new_seed=True)
        source.worker.run_until_idle()
        source.history.set_tags(child, ["keeper"])
        return export_runs(source.sessions, [parent, child], root / "export.zip")
    finally:
        source.close()


@pytest.fixture()
def target(tmp_path):
    """The studio importing, plus a sibling folder that must never change."""
    services = make_services(tmp_path / "studio")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.png").write_bytes(b"\x89PNG not yours")
    (outside / "notes.txt").write_text("keep me")
    yield services, outside
    services.close()


def manifest_of(bundle: Path) -> dict:
    with zipfile.ZipFile(bundle) as archive:
        return json.loads(archive.read("runs.json"))


def tampered(bundle: Path, out: Path, manifest: dict | bytes | str | None = None, *,
             replace: dict[str, zipfile.ZipInfo | bytes] | None = None, extra: list[tuple[zipfile.ZipInfo, bytes]] = ()) -> Path:
    """A copy of the bundle with another runs.json and/or members replaced or added."""
    replace = replace or {}
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(out, "w") as archive:
        for info in source.infolist():
            if info.filename == "runs.json" and manifest is not None:
                data = manifest if isinstance(manifest, (bytes, str)) else json.dumps(manifest)
                archive.writestr("runs.json", data)
            elif info.filename in replace:
                archive.writestr(info.filename, replace[info.filename], compress_type=zipfile.ZIP_DEFLATED)
            else:
                archive.writestr(info, source.read(info))
        for info, data in extra:
            archive.writestr(info, data)
    return out


def patch_headers(path: Path, member: str, *, local_at: int, central_at: int, value: bytes) -> None:
    """Overwrite a field of a member's local header and central directory entry (offsets from
    each header's signature), as a crafted zip would; zipfile itself writes only honest headers."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    start = 0
    while (at := data.find(name, start)) >= 0:
        if data[at - 30:at - 26] == b"PK\x03\x04":
            data[at - 30 + local_at:at - 30 + local_at + len(value)] = value
        elif data[at - 46:at - 42] == b"PK\x01\x02":
            data[at - 46 + central_at:at - 46 + central_at + len(value)] = value
        start = at + 1
    path.write_bytes(bytes(data))


def lie_about_size(path: Path, member: str, declared: int) -> None:
    patch_headers(path, member, local_at=22, central_at=24, value=declared.to_bytes(4, "little"))


def snapshot(*folders: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in folders if folder.exists() for p in sorted(folder.rglob("*")) if p.is_file()}


def counts(services) -> tuple[int, int]:
    with session_scope(services.sessions) as session:
        return session.scalar(select(func.count(Run.id))), session.scalar(select(func.count(Image.id)))


def refused(services, outside: Path, zip_path: Path, match: str = "") -> str:
    """Import the zip; assert it is refused with the studio's message and that nothing changed."""
    folders = (outside, services.storage.inputs_dir, services.storage.outputs_dir)
    before, rows = snapshot(*folders), counts(services)
    with pytest.raises(ArchiveError) as caught:
        import_runs(services.sessions, services.storage, zip_path)
    message = str(caught.value)
    assert message.startswith("Not a studio export"), message
    assert match in message, message
    assert "Traceback" not in message and "validation error" not in message and "\n" not in message
    assert counts(services) == rows
    assert snapshot(*folders) == before
    return message


def with_row(bundle: Path, index: int = 0, **changes) -> dict:
    manifest = copy.deepcopy(manifest_of(bundle))
    manifest["runs"][index].update(changes)
    return manifest


# ----- paths from rows ------------------------------------------------------------------------------

def test_an_input_hash_that_climbs_out_of_the_studio_is_refused(bundle, target, tmp_path):
    services, outside = target
    row = manifest_of(bundle)["runs"][0]
    climbing = {**row["input"], "sha256": "../../outside/evil"}  # inputs/../../../outside/evil.png
    refused(services, outside, tampered(bundle, tmp_path / "z.zip", with_row(bundle, input=climbing)), "run 1: input.sha256")
    assert not (outside / "evil.png").exists()


def test_an_absolute_input_hash_is_refused(bundle, target, tmp_path):
    services, outside = target
    row = manifest_of(bundle)["runs"][0]
    absolute = {**row["input"], "sha256": str(outside / "evil")}
    refused(services, outside, tampered(bundle, tmp_path / "z.zip", with_row(bundle, input=absolute)), "input.sha256")
    assert not (outside / "evil.png").exists()


def test_an_input_hash_naming_a_file_elsewhere_cannot_get_it_deleted_through_the_trash(bundle, target, tmp_path):
    services, outside = target
    row = manifest_of(bundle)["runs"][0]
    victim = {**row["input"], "sha256": "../../outside/victim"}
    refused(services, outside, tampered(bundle, tmp_path / "z.zip", with_row(bundle, input=victim)), "input.sha256")
    with session_scope(services.sessions) as session:
        ids = list(session.scalars(select(Run.id)))
    services.history.trash(ids)
    services.history.empty_trash()
    assert (outside / "victim.png").read_bytes() == b"\x89PNG not yours"


@pytest.mark.parametrize("sha", ["A" * 64, "a" * 63, "a" * 65, "g" * 64, "a" * 62 + "\x00a", "", 42])
def test_an_input_hash_must_be_64_lowercase_hex(bundle, target, tmp_path, sha):
    services, outside = target
    row = manifest_of(bundle)["runs"][0]
    refused(services, outside, tampered(bundle, tmp_path / "z.zip", with_row(bundle, input={**row["input"], "sha256": sha})),
            "input.sha256")


@pytest.mark.parametrize("member", ["../../x.mp4", "/etc/passwd", "runs.json", "inputs/x.png"])
def test_a_media_entry_may_only_name_a_media_member(bundle, target, tmp_path, member):
    services, outside = target
    refused(services, outside, tampered(bundle, tmp_path / "z.zip", with_row(bundle, media={"video_path": member})),
            "media.video_path")


@pytest.mark.parametrize("name", ["/abs.txt", "../up.txt", "media/../../up.txt", "C:/windows.txt", "media\\back.txt",
                                  "media//double.txt", "./here.txt", "a" * 300])
def test_unsafe_member_names_are_refused_before_anything_is_read(bundle, target, tmp_path, name):
    services, outside = target
    info = zipfile.ZipInfo("placeholder")
    info.filename = name  # set after construction: ZipInfo would normalise some of these
    refused(services, outside, tampered(bundle, tmp_path / "z.zip", extra=[(info, b"x")]), "unsafe path")


def test_a_symlink_member_is_refused(bundle, target, tmp_path):
    services, outside = target
    link = zipfile.ZipInfo("media/link.mp4")
    link.external_attr = (0o120777 << 16)
    refused(services, outside, tampered(bundle, tmp_path / "z.zip", extra=[(link, str(outside / "victim.png").encode())]),
            "link")


def test_an_encrypted_or_duplicated_member_is_refused(bundle, target, tmp_path):
    services, outside = target
    secret = tampered(bundle, tmp_path / "a.zip", extra=[(zipfile.ZipInfo("media/secret.mp4"), b"x")])
    patch_headers(secret, "media/secret.mp4", local_at=6, central_at=8, value=(1).to_bytes(2, "little"))
    refused(services, outside, secret, "encrypted")
    twice = zipfile.ZipInfo("media/run-000001.mp4")
    with pytest.warns(UserWarning, match="Duplicate name"):
        zip_path = tampered(bundle, tmp_path / "b.zip", extra=[(twice, b"other")])
    refused(services, outside, zip_path, "twice")


def png(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(("content", "match"), [
    (lambda: png(picture((10, 200, 30))), "does not hold the picture"),  # other pixels under a known name
    (lambda: b"junk", "not an image"),
    (lambda: png(PILImage.new("1", (7_100, 7_100))), "megapixels"),  # 50 MP: refused from its header
], ids=["other-pixels", "not-an-image", "too-many-pixels"])
def test_an_input_picture_must_be_the_picture_its_hash_names(bundle, target, tmp_path, content, match):
    services, outside = target
    member = manifest_of(bundle)["runs"][0]["input"]["member"]
    refused(services, outside, tampered(bundle, tmp_path / "z.zip", replace={member: content()}), match)


# ----- poisoned rows ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("changes", "field"), [
    ({"status": "pwned"}, "status"),
    ({"status": "queued"}, "status"),
    ({"status": "running"}, "status"),
    ({"status": "interrupted"}, "status"),
    ({"status": None}, "status"),
    ({"frames": "abc"}, "frames"),
    ({"frames": "6"}, "frames"),
    ({"frames": 6.5}, "frames"),
    ({"frames": -1}, "frames"),
    ({"fps": True}, "fps"),
    ({"width": 10**30}, "width"),
    ({"guidance": float("nan")}, "guidance"),
    ({"seed": -5}, "seed"),
    ({"engine": 7}, "engine"),
    ({"engine": "x" * 65}, "engine"),
    ({"prompt": "p" * 2001}, "prompt"),
    ({"notes": None}, "notes"),
    ({"favorite": "yes"}, "favorite"),
    ({"queued_at": "yesterday"}, "queued_at"),
    ({"queued_at": 1700000000}, "queued_at"),
    ({"params": {"nested": {"a": 1}}}, "params.nested"),
    ({"params": ["a"]}, "params"),
    ({"params": {f"k{i}": i for i in range(101)}}, "params"),
    ({"manifest": "text"}, "manifest"),
    ({"tags": "keeper"}, "tags"),
    ({"tags": ["t" * 65]}, "tags.0"),
    ({"export_id": "1"}, "export_id"),
    ({"export_id": 0}, "export_id"),
    ({"parent_export_id": "x"}, "parent_export_id"),
])
def test_a_row_with_a_bad_value_is_refused_naming_run_and_field(bundle, target, tmp_path, changes, field):
    services, outside = target
    message = refused(services, outside, tampered(bundle, tmp_path / "z.zip", with_row(bundle, 1, **changes)))
    assert f"run 2: {field}" in message, message


@pytest.mark.parametrize("key", ["status", "engine", "export_id"])
def test_a_row_missing_a_required_key_is_refused(bundle, target, tmp_path, key):
    services, outside = target
    manifest = manifest_of(bundle)
    del manifest["runs"][0][key]
    assert f"run 1: {key} is missing" in refused(services, outside, tampered(bundle, tmp_path / "z.zip", manifest))


def test_one_bad_row_imports_nothing_not_even_the_good_rows(bundle, target, tmp_path):
    services, outside = target
    refused(services, outside, tampered(bundle, tmp_path / "z.zip", with_row(bundle, 1, status="queued")), "run 2: status")
    services.worker.run_until_idle()  # nothing was queued, so nothing runs
    assert counts(services) == (0, 0)


def test_a_succeeded_row_without_its_video_imports_as_failed_saying_why(bundle, target, tmp_path):
    """An older studio exported a succeeded run whose video was gone as a row without media: it is
    kept for its settings (re-run it), not shown as a succeeded run with nothing to play."""
    services, _outside = target
    new_ids = import_runs(services.sessions, services.storage, tampered(bundle, tmp_path / "z.zip", with_row(bundle, 1, media={})))
    imported = services.history.get_runs(new_ids)
    assert [r.status for r in imported] == ["succeeded", "failed"]
    assert imported[1].video_path is None and "Imported without its video" in imported[1].error
    assert imported[1].prompt == imported[0].prompt == "dunes"


def test_duplicate_export_ids_are_refused(bundle, target, tmp_path):
    services, outside = target
    refused(services, outside, tampered(bundle, tmp_path / "z.zip", with_row(bundle, 1, export_id=manifest_of(bundle)["runs"][0]["export_id"])),
            "appears twice")


# ----- lineage within the zip ---------------------------------------------------------------------------

def with_links(bundle: Path, links: list[dict]) -> dict:
    """The bundle's manifest with each row's links replaced; a link names a row by its position,
    and params are added to the row's own."""
    manifest = copy.deepcopy(manifest_of(bundle))
    rows = manifest["runs"]
    if len(links) > len(rows):  # a third run: the child again under a new number, sharing its files
        rows.append({**copy.deepcopy(rows[1]), "export_id": max(r["export_id"] for r in rows) + 1})
    ids = [row["export_id"] for row in rows]
    for row, changes in zip(rows, links):
        row.update(parent_export_id=None, continues_export_id=None)
        params = {key: ids[at] for key, at in changes.pop("params", {}).items()}
        row.update({key: ids[at] for key, at in changes.items()}, params={**row["params"], **params})
    return manifest


@pytest.mark.parametrize(("links", "match"), [
    ([{"parent_export_id": 0}, {}], "run 1: parent_export_id names the run itself"),
    ([{}, {"continues_export_id": 1}], "run 2: continues_export_id names the run itself"),
    ([{"params": {"source_run": 0}}, {}], "run 1: params.source_run names the run itself"),
    ([{}, {"params": {"chain_from": 1}}], "run 2: params.chain_from names the run itself"),
    ([{"parent_export_id": 1, "continues_export_id": 1}, {"parent_export_id": 0, "continues_export_id": 0}],
     "run 2: parent_export_id names run 1, which descends from run 2"),
    ([{"params": {"source_run": 1}}, {"parent_export_id": 0}], "run 2: parent_export_id names run 1, which descends from run 2"),
    ([{"parent_export_id": 2}, {"parent_export_id": 0}, {"continues_export_id": 1}],
     "run 2: parent_export_id names run 1, which descends from run 2"),
    ([{"params": {"chain_from": 1}}, {"params": {"source_run": 2}}, {"parent_export_id": 0}],
     "run 3: parent_export_id names run 1, which descends from run 3"),
], ids=["own parent", "continues itself", "own source", "chain from itself", "parents of each other",
        "source and parent", "three runs", "three runs through params"])
def test_a_run_that_descends_from_itself_is_refused_naming_the_row_and_link(bundle, target, tmp_path, links, match):
    services, outside = target
    message = refused(services, outside, tampered(bundle, tmp_path / "z.zip", with_links(bundle, links)), match)
    assert message.endswith("a run cannot descend from itself."), message


def test_links_that_do_not_loop_import_and_links_out_of_the_zip_are_dropped(bundle, target, tmp_path):
    services, _outside = target
    # Run 3 continues run 2 and was made from it; both came from run 1.
    manifest = with_links(bundle, [{}, {"parent_export_id": 0},
                                   {"parent_export_id": 1, "continues_export_id": 1, "params": {"source_run": 1}}])
    first, second, third = import_runs(services.sessions, services.storage, tampered(bundle, tmp_path / "ok.zip", manifest))
    run = services.history.get_run(third)
    assert (run.parent_id, run.continues_id, run.params["source_run"]) == (second, second, second)
    assert services.history.get_run(second).parent_id == first

    # A link to a run the zip does not hold (even this row's number in the studio that exported
    # it) is dropped, as before; so is a source that is not a run number (JSON true is not run 1).
    outside_ids = copy.deepcopy(manifest_of(bundle))
    outside_ids["runs"][0].update(parent_export_id=999, continues_export_id=998)
    outside_ids["runs"][0]["params"].update(source_run=997)
    outside_ids["runs"][1]["params"].update(source_run=True, chain_from=1.0)
    parent, child = import_runs(services.sessions, services.storage, tampered(bundle, tmp_path / "out.zip", outside_ids))
    parent, child = services.history.get_runs([parent, child])
    assert (parent.parent_id, parent.continues_id, "source_run" in parent.params) == (None, None, False)
    assert child.parent_id == parent.id and "source_run" not in child.params and "chain_from" not in child.params


# ----- the files' contents ------------------------------------------------------------------------------

VIDEO = "media/run-000002.mp4"  # the child's, so the parent's files are written first and removed again


def with_member(bundle: Path, out: Path, member: str, content: bytes, *, digest: str) -> Path:
    """The bundle with one member's bytes replaced; `digest` says what the manifest then records
    for it: "kept" (the exporter's), "matching" (recomputed, as a careful hand edit would) or "none"
    (an export from before digests were recorded)."""
    manifest = copy.deepcopy(manifest_of(bundle))
    for row in manifest["runs"]:
        for column, name in row["media"].items():
            if digest == "none":
                row.pop("media_sha256", None)
            elif name == member and digest == "matching":
                row.setdefault("media_sha256", {})[column] = hashlib.sha256(content).hexdigest()
    return tampered(bundle, out, manifest, replace={member: content})


def real_video(bundle: Path) -> bytes:
    with zipfile.ZipFile(bundle) as archive:
        return archive.read(VIDEO)


@pytest.mark.parametrize("digest", ["matching", "none"])
@pytest.mark.parametrize(("content", "match"), [
    (b"<html><script>alert(document.cookie)</script></html>", f"{VIDEO} is not an MP4 video."),
    (b"", f"{VIDEO} is not an MP4 video."),
    ("first half", f"{VIDEO} is cut short or damaged."),
    ("no frames", f"{VIDEO} holds no video frames."),
    ("junk index", f"{VIDEO} is not a video this studio can read (damaged or not an MP4)."),
], ids=["html", "empty", "cut short", "no frames", "junk index"])
def test_a_video_this_studio_cannot_read_is_refused_naming_it(bundle, target, tmp_path, content, match, digest):
    services, outside = target
    video = real_video(bundle)
    if content == "first half":
        content = video[:len(video) // 2]
    elif content == "no frames":  # every box in place, every byte of picture data zeroed
        at = video.index(b"mdat") + 4
        content = video[:at] + bytes(len(video) - at)
    elif content == "junk index":  # the file-type box, then an index box of noise
        content = video[:int.from_bytes(video[:4], "big")] + (108).to_bytes(4, "big") + b"moov" + bytes(range(100))
    refused(services, outside, with_member(bundle, tmp_path / "z.zip", VIDEO, content, digest=digest), match)


@pytest.mark.parametrize("member", [VIDEO, "media/run-000002.poster.jpg", "media/run-000001.thumb.jpg"])
def test_a_file_changed_after_the_export_is_refused_by_its_recorded_digest(bundle, target, tmp_path, member):
    """A flipped byte inside the picture data leaves a video ffmpeg reads: the digest finds it."""
    services, outside = target
    with zipfile.ZipFile(bundle) as archive:
        content = bytearray(archive.read(member))
    content[len(content) * 3 // 4] ^= 0xFF
    changed = with_member(bundle, tmp_path / "z.zip", member, bytes(content), digest="kept")
    refused(services, outside, changed, f"{member} is not the file that was exported (the zip was altered or damaged).")


def test_an_export_records_each_files_digest_and_one_without_digests_still_imports(bundle, target, tmp_path):
    services, _outside = target
    with zipfile.ZipFile(bundle) as archive:
        for row in manifest_of(bundle)["runs"]:
            assert row["media_sha256"].keys() == row["media"].keys()
            for column, member in row["media"].items():
                assert row["media_sha256"][column] == hashlib.sha256(archive.read(member)).hexdigest()
    older = with_member(bundle, tmp_path / "older.zip", VIDEO, real_video(bundle), digest="none")
    assert len(import_runs(services.sessions, services.storage, older)) == 2


# ----- malformed manifests ----------------------------------------------------------------------------

@pytest.mark.parametrize(("manifest", "match"), [
    ("{nope", "not JSON"),
    (b"\xff\xfe\x00", "not JSON"),
    ("[]", "not a JSON object"),
    ('"export"', "not a JSON object"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"format": "video-studio-export", "version": 1, "runs": [' + "1" * 5000 + "]}", "not JSON"),
    ({"format": "video-studio-export", "version": 1, "runs": [1]}, "run 1 is not a JSON object"),
    ({"format": "video-studio-export", "version": 1, "runs": ["row"]}, "run 1 is not a JSON object"),
    ({"format": "video-studio-export", "version": "1", "runs": []}, "version"),
    ({"format": "video-studio-export", "version": 1.0, "runs": []}, "version"),
    ({"format": "video-studio-export", "version": True, "runs": []}, "version"),
    ({"format": "video-studio-export", "version": 0, "runs": []}, "version"),
    ({"format": "video-studio-export", "version": 2, "runs": []}, "newer studio"),
    ({"format": "video-studio-export", "runs": []}, "version is missing"),
    ({"format": "other", "version": 1, "runs": []}, "format"),
    ({"version": 1, "runs": []}, "format is missing"),
    ({"format": "video-studio-export", "version": 1}, "runs is missing"),
    ({"format": "video-studio-export", "version": 1, "runs": {"a": 1}}, "runs"),
])
def test_a_malformed_manifest_is_refused_with_a_plain_message(bundle, target, tmp_path, manifest, match):
    services, outside = target
    refused(services, outside, tampered(bundle, tmp_path / "z.zip", manifest), match)


def test_deep_nesting_inside_a_row_is_refused(bundle, target, tmp_path):
    services, outside = target
    deep: dict = {}
    for _ in range(200):
        deep = {"a": deep}
    refused(services, outside, tampered(bundle, tmp_path / "z.zip", with_row(bundle, manifest=deep)), "run 1: manifest")


# ----- sizes --------------------------------------------------------------------------------------------

def test_a_highly_compressible_member_is_refused_before_it_is_expanded(bundle, target, tmp_path):
    services, outside = target
    bomb = tampered(bundle, tmp_path / "z.zip", replace={"media/run-000001.mp4": bytes(64 * 1024**2)})
    assert bomb.stat().st_size < 2 * 1024**2  # 64 MB of zeros in well under 2 MB
    refused(services, outside, bomb, "zip bomb")


def test_a_member_whose_header_understates_its_size_gets_no_further_than_declared(bundle, target, tmp_path):
    services, outside = target
    liar = tampered(bundle, tmp_path / "z.zip", replace={"media/run-000001.mp4": bytes(16 * 1024**2)})
    lie_about_size(liar, "media/run-000001.mp4", 1000)  # small enough to pass the ratio check
    with zipfile.ZipFile(liar) as archive:
        assert archive.getinfo("media/run-000001.mp4").file_size == 1000
    refused(services, outside, liar, "damaged")


def test_a_manifest_whose_header_understates_its_size_is_refused(bundle, target, tmp_path):
    services, outside = target
    padded = json.dumps(manifest_of(bundle)) + " " * (8 * 1024**2)
    liar = tampered(bundle, tmp_path / "z.zip", replace={"runs.json": padded.encode()})
    lie_about_size(liar, "runs.json", 100)
    refused(services, outside, liar, "damaged")


def test_a_huge_manifest_is_refused_unread(bundle, target, tmp_path):
    services, outside = target
    huge = json.dumps(manifest_of(bundle)).encode() + b" " * (33 * 1024**2)  # valid JSON, over the cap
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(tmp_path / "z.zip", "w") as archive:
        for info in source.infolist():
            archive.writestr(info, huge if info.filename == "runs.json" else source.read(info))
    refused(services, outside, tmp_path / "z.zip", "runs.json")


@pytest.mark.parametrize("name", ["..", "", ".", "a/..", "x\x00.zip", "n" * 300 + ".zip"])
def test_an_upload_with_an_odd_file_name_gets_the_studios_refusal(target, name):
    """The Settings page passes the browser's file name on; it must not become a path here."""
    services, outside = target
    before = snapshot(outside, services.paths.data_dir / "exports")
    with pytest.raises(ArchiveError, match="^Not a studio export: upload.zip is not a zip file"):
        services.import_upload(b"junk", name)
    assert snapshot(outside, services.paths.data_dir / "exports") == before and counts(services) == (0, 0)


def test_an_upload_keeps_its_plain_name_and_imports(bundle, target):
    services, _ = target
    assert len(services.import_upload(bundle.read_bytes(), "../holiday.zip")) == 2
    with pytest.raises(ArchiveError, match="^Not a studio export: holiday.zip is not a zip file"):
        services.import_upload(b"junk", "holiday.zip")


def test_too_many_members_are_refused_from_the_directory(bundle, target, tmp_path):
    services, outside = target
    many = [(zipfile.ZipInfo(f"media/extra-{i}.txt"), b"") for i in range(61_000)]
    refused(services, outside, tampered(bundle, tmp_path / "z.zip", extra=many), "files (at most")


def test_a_central_directory_too_large_to_parse_is_refused_before_zipfile_reads_it(bundle, target, tmp_path):
    services, outside = target
    path = tampered(bundle, tmp_path / "z.zip")
    data = bytearray(path.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    data[end + 12:end + 16] = (2**32 - 2).to_bytes(4, "little")  # declared directory size: 4 GB
    path.write_bytes(bytes(data))
    refused(services, outside, path, "lists more files")


# ----- what still works ---------------------------------------------------------------------------------

def test_a_real_export_round_trips_and_can_be_imported_twice(bundle, target):
    services, outside = target
    first = import_runs(services.sessions, services.storage, bundle)
    second = import_runs(services.sessions, services.storage, bundle)  # same input picture: shared
    assert len(first) == len(second) == 2
    assert counts(services) == (4, 1)
    for run in services.history.get_runs(first + second):
        assert run.status == "succeeded" and Path(run.video_path).is_file()
        assert Path(run.video_path).resolve().is_relative_to(services.storage.outputs_dir.resolve())
        assert Path(run.input_image.path).resolve().is_relative_to(services.storage.inputs_dir.resolve())
    parent, child = services.history.get_runs(second)
    assert child.parent_id == parent.id and child.tag_names == ["keeper"] and parent.prompt == "dunes"
    services.worker.run_until_idle()
    assert all(r.status == "succeeded" for r in services.history.get_runs(first + second))
    assert snapshot(outside) == {str(outside / "notes.txt"): hashlib.sha256(b"keep me").hexdigest(),
                                 str(outside / "victim.png"): hashlib.sha256(b"\x89PNG not yours").hexdigest()}


def test_the_schema_covers_every_exported_column():
    """A new Run column must get a checked field, or exports would silently drop it on import."""
    assert field_names() == {c.name for c in Run.__table__.columns} - SKIPPED_COLUMNS


# ----- any input at all -----------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
ROW_KEYS = ["status", "engine", "export_id", "parent_export_id", "frames", "fps", "width", "params", "manifest",
            "tags", "media", "input", "queued_at", "notes", "seed", "unknown_column"]


def _manifests(real: dict):
    mutated_row = st.tuples(st.integers(0, 1), st.sampled_from(ROW_KEYS), JSON_VALUES)
    mutated = st.lists(mutated_row, min_size=1, max_size=3).map(lambda edits: _apply(real, edits))
    envelope = st.fixed_dictionaries({"format": st.sampled_from(["video-studio-export", "other"]),
                                      "version": st.one_of(st.just(1), JSON_VALUES), "runs": JSON_VALUES})
    return st.one_of(mutated, envelope, JSON_VALUES)


def _apply(real: dict, edits) -> dict:
    manifest = copy.deepcopy(real)
    for index, key, value in edits:
        manifest["runs"][index][key] = value
    return manifest


def _import_or_refuse(services, zip_path: Path) -> None:
    rows = counts(services)
    try:
        import_runs(services.sessions, services.storage, zip_path)
    except ArchiveError as error:
        assert str(error).startswith("Not a studio export"), error
        assert counts(services) == rows


PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPERTY
@given(data=st.data())
def test_any_manifest_is_imported_or_refused_with_the_studios_error(bundle, target, tmp_path, data):
    services, _ = target
    manifest = data.draw(_manifests(manifest_of(bundle)))
    _import_or_refuse(services, tampered(bundle, tmp_path / "z.zip", json.dumps(manifest)))


@PROPERTY
@given(raw=st.binary(max_size=4096), flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8))
def test_any_zip_bytes_are_imported_or_refused_with_the_studios_error(bundle, target, tmp_path, raw, flips):
    services, _ = target
    damaged = bytearray(bundle.read_bytes())
    for at, value in flips:
        damaged[at % len(damaged)] = value
    for index, content in enumerate((raw, bytes(damaged), b"PK\x03\x04" + raw, raw + bytes(damaged[-200:]))):
        path = tmp_path / f"any-{index}.zip"
        path.write_bytes(content)
        _import_or_refuse(services, path)


LORA_ENTRY = {"name": "ink.safetensors", "path": "/elsewhere/ink.safetensors", "sha256": "ab" * 32, "strength": 0.8,
              "second_expert": False}


def test_a_run_with_a_lora_stack_imports_and_a_malformed_stack_is_refused(bundle, target, tmp_path):
    services, outside = target
    row = manifest_of(bundle)["runs"][1]
    with_loras = with_row(bundle, 1, params={**row["params"], "loras": [LORA_ENTRY], "lora_strength": 0.8})
    imported = import_runs(services.sessions, services.storage, tampered(bundle, tmp_path / "ok.zip", with_loras))
    assert services.history.get_run(imported[1]).params["loras"] == [LORA_ENTRY]

    other = make_services(tmp_path / "other")
    try:
        nested = with_row(bundle, 1, params={"loras": [{**LORA_ENTRY, "path": {"deep": 1}}]})
        assert "run 2: params.loras" in refused(other, outside, tampered(bundle, tmp_path / "bad.zip", nested))
        too_many = with_row(bundle, 1, params={"loras": [LORA_ENTRY] * 9})
        assert "run 2: params.loras" in refused(other, outside, tampered(bundle, tmp_path / "many.zip", too_many))
    finally:
        other.close()
