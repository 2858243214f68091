"""The gallery's queries, the trash and lineage against a real SQLite history: runs are made with
run_rows.add_run (and the real worker where files matter), then listed, filtered, trashed, restored."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import insert, select

from studio.db import runs as run_rows
from studio.db.engine import session_scope
from studio.db.gallery import RunQuery
from studio.db.models import Run
from studio.jobs.queue import SubmitRequest
from studio.trash import TRASH_FOLDER

T0 = datetime(2026, 3, 1, 12, 0, 0)

# The gallery's filters, sorts, search and trash are SQL that differs by dialect: run on both.
pytestmark = pytest.mark.both_dialects


def add(services, *, engine="motion", status="succeeded", prompt="", queued_at=None, parent_id=None, **params) -> int:
    """A run row as the queue writes it, then moved to a final status."""
    params = {"width": 64, "height": 64, "frames": 16, "fps": 8, "seed": 1, "prompt": prompt, **params}
    with session_scope(services.sessions) as session:
        run = run_rows.add_run(session, engine=engine, model_id=None, params=params, input_image_id=None, parent_id=parent_id)
        run_rows.update_run(session, run.id, status=status, queued_at=queued_at or T0 + timedelta(minutes=run.id))
        return run.id


def ids(services, **query) -> list[int]:
    return [r.id for r in services.history.list_runs(RunQuery(page_size=100, **query)).runs]


def make_video_run(services, prompt="a test run", image_color=(200, 120, 40)) -> int:
    image = Image.new("RGB", (80, 60), image_color)
    run_id = services.queue.submit(SubmitRequest(engine="motion", image=image, image_name="in.png",
                                                 params={"width": 64, "height": 64, "frames": 4, "fps": 8, "prompt": prompt}))
    services.worker.run_until_idle()
    assert services.history.get_run(run_id).status == "succeeded"
    services.gif_of(run_id)  # one GIF downloaded: the trash moves, restores and deletes it with the run
    return run_id


# ----- search, filters, sorting, pages ------------------------------------------------------------

def test_full_text_search_finds_a_run_by_one_word_of_its_prompt(services):
    harbour = add(services, prompt="A slow push-in on the harbour at dusk")
    add(services, prompt="neon city street at night")
    negative = add(services, prompt="forest", negative_prompt="blurry harbour")
    assert ids(services, text="harbour") == [negative, harbour]
    assert ids(services, text="HARB") == [negative, harbour]  # prefix, any case
    assert ids(services, text="harbour dusk") == [harbour]  # every word must match
    assert ids(services, text="submarine") == []


@pytest.mark.parametrize(("query", "expected"), [
    ({"statuses": ["failed"]}, ["failed"]),
    ({"engines": ["svd"]}, ["svd"]),
    ({"favorites_only": True}, ["favourite"]),
    ({"tags": ["sunset"]}, ["tagged-both", "tagged-sunset"]),
    ({"tags": ["sunset", "keeper"]}, ["tagged-both"]),  # all of the tags
    ({"resolutions": [(1280, 720)]}, ["wide"]),
    ({"resolutions": [(1280, 720), (720, 1280)]}, ["tall", "wide"]),
    ({"frames": [49]}, ["long"]),
    ({"seed": 424242}, ["seeded"]),
    ({"queued_from": T0 + timedelta(days=10), "queued_until": T0 + timedelta(days=11)}, ["dated"]),
    ({"engines": ["svd"], "statuses": ["failed"]}, []),  # filters combine with AND
])
def test_each_filter_narrows_the_listing(services, query, expected):
    made = {
        "plain": add(services),
        "failed": add(services, status="failed"),
        "svd": add(services, engine="svd"),
        "favourite": add(services),
        "tagged-sunset": add(services),
        "tagged-both": add(services),
        "wide": add(services, width=1280, height=720),
        "tall": add(services, width=720, height=1280),
        "long": add(services, frames=49),
        "seeded": add(services, seed=424242),
        "dated": add(services, queued_at=T0 + timedelta(days=10, hours=3)),
    }
    services.history.set_favorite(made["favourite"], True)
    services.history.set_tags(made["tagged-sunset"], ["Sunset"])
    services.history.set_tags(made["tagged-both"], ["sunset", "keeper"])
    names = {run_id: name for name, run_id in made.items()}
    assert sorted(names[i] for i in ids(services, **query)) == sorted(expected)
    assert len(ids(services)) == len(made)


def test_sort_orders_newest_oldest_and_longest_video(services):
    short = add(services, frames=8, fps=8, queued_at=T0)  # 1 s
    long = add(services, frames=48, fps=8, queued_at=T0 + timedelta(hours=1))  # 6 s
    medium = add(services, frames=24, fps=8, queued_at=T0 + timedelta(hours=2))  # 3 s
    same_as_medium = add(services, frames=48, fps=16, queued_at=T0 + timedelta(hours=3))  # 3 s, newer
    imported = add(services, frames=16, fps=8, queued_at=T0 - timedelta(days=30))  # new id, made long ago
    assert ids(services) == [same_as_medium, medium, long, short, imported]  # newest by queue time, not id
    assert ids(services, sort="oldest") == [imported, short, long, medium, same_as_medium]
    assert ids(services, sort="longest") == [long, same_as_medium, medium, imported, short]
    with pytest.raises(ValueError, match="Unknown sort"):
        ids(services, sort="sideways")


def test_pages_cover_every_run_once_and_a_page_past_the_end_shows_the_last(services):
    made = [add(services) for _ in range(17)]
    pages = [services.history.list_runs(RunQuery(page=n, page_size=5)) for n in (1, 2, 3, 4)]
    assert [p.total for p in pages] == [17] * 4 and pages[0].pages == 4
    assert [len(p.runs) for p in pages] == [5, 5, 5, 2]
    assert [r.id for p in pages for r in p.runs] == sorted(made, reverse=True)
    beyond = services.history.list_runs(RunQuery(page=99, page_size=5))
    assert beyond.page == 4 and [r.id for r in beyond.runs] == [r.id for r in pages[3].runs]


def test_video_length_is_recorded_for_every_insert_path(services):
    run_id = add(services, frames=49, fps=16)
    with session_scope(services.sessions) as session:  # a bulk insert, as an import or a script would do
        session.execute(insert(Run), [{"engine": "motion", "frames": 30, "fps": 12, "params": {}}])
        bulk = session.scalar(select(Run).where(Run.frames == 30))
        assert bulk.video_seconds == pytest.approx(2.5)
    assert services.history.get_run(run_id).video_seconds == pytest.approx(49 / 16)


def test_facets_list_the_values_present(services):
    add(services, engine="svd", width=1280, height=720, frames=25)
    add(services, engine="motion", width=512, height=512, frames=16)
    add(services, engine="motion", width=1280, height=720, frames=49)
    tagged = add(services, engine="wan", width=720, height=1280, frames=81)
    services.history.set_tags(tagged, ["b-roll", "Sunset"])
    facets = services.history.facets()
    assert facets.engines == ["motion", "svd", "wan"]
    assert facets.resolutions == [(512, 512), (720, 1280), (1280, 720)]
    assert facets.frames == [16, 25, 49, 81]
    assert facets.tags == ["b-roll", "sunset"]


# ----- lineage -----------------------------------------------------------------------------------

def test_lineage_lists_the_parent_chain_root_first_and_the_children(services):
    root = add(services)
    middle = add(services, parent_id=root)
    leaf = add(services, parent_id=middle)
    sibling = add(services, parent_id=middle)
    family = services.history.lineage(leaf)
    assert [r.id for r in family.ancestors] == [root, middle] and family.children == []
    family = services.history.lineage(middle)
    assert [r.id for r in family.ancestors] == [root]
    assert [r.id for r in family.children] == [leaf, sibling]
    services.history.trash([middle])  # a trashed parent is still part of the chain
    assert [r.id for r in services.history.lineage(leaf).ancestors] == [root, middle]


# ----- the trash -----------------------------------------------------------------------------------

def media(run) -> list[Path]:
    video = Path(run.video_path)
    return [video, video.with_suffix(".gif"), video.with_suffix(".json"), Path(run.poster_path), Path(run.thumb_path)]


def test_a_trashed_run_and_its_files_come_back_on_restore(services):
    run_id = make_video_run(services, prompt="harbour at dusk")
    before = services.history.get_run(run_id)
    original = media(before)
    assert all(p.is_file() for p in original)

    outcome = services.history.trash([run_id])
    assert outcome.moved == [run_id] and outcome.refused == {}
    trashed = services.history.get_run(run_id)
    assert trashed.deleted_at is not None
    assert not any(p.exists() for p in original)
    assert all(p.is_file() and p.parent.name == TRASH_FOLDER for p in media(trashed))
    assert ids(services) == [] and ids(services, in_trash=True) == [run_id]
    assert ids(services, text="harbour") == [] and ids(services, text="harbour", in_trash=True) == [run_id]
    assert services.history.trash_count() == 1

    assert services.history.restore([run_id]) == [run_id]
    restored = services.history.get_run(run_id)
    assert restored.deleted_at is None and media(restored) == original
    assert all(p.is_file() for p in original)
    assert ids(services) == [run_id] and services.history.trash_count() == 0


def test_queued_and_running_runs_cannot_be_trashed(services):
    queued = add(services, status="queued")
    running = add(services, status="running")
    outcome = services.history.trash([queued, running])
    assert outcome.moved == []
    assert outcome.refused == {queued: "it is queued: cancel it first", running: "it is running: cancel it first"}
    assert services.history.trash_count() == 0


def test_a_trashed_interrupted_run_is_not_taken_back_into_the_queue(services):
    run_id = add(services, status="interrupted")
    services.history.trash([run_id])
    assert services.worker.recover() == []
    assert services.history.get_run(run_id).status == "interrupted"


def test_emptying_the_trash_deletes_rows_files_logs_and_unused_inputs(services):
    parent = make_video_run(services, prompt="parent", image_color=(10, 200, 10))
    shared_input = make_video_run(services, prompt="shares its input", image_color=(200, 10, 10))
    kept = make_video_run(services, prompt="kept", image_color=(200, 10, 10))
    child = services.queue.rerun(parent)
    services.worker.run_until_idle()
    runs = {r.id: r for r in services.history.get_runs([parent, shared_input, kept, child])}
    files = media(runs[parent]) + media(runs[shared_input])
    logs = [Path(runs[parent].log_path), Path(runs[shared_input].log_path)]
    inputs = {name: Path(runs[run_id].input_image.path) for name, run_id in (("parent", parent), ("shared", shared_input))}

    services.history.trash([parent, shared_input])
    outcome = services.history.empty_trash()

    assert outcome.runs == 2 and outcome.files >= len(files) + len(logs) and outcome.bytes > 0
    assert services.history.get_runs([parent, shared_input]) == []
    assert not any(p.exists() for p in files + logs)
    for path in files:  # nothing left behind in the trash folders either
        assert not (path.parent / TRASH_FOLDER / path.name).exists()
    # The parent's input was used by its child (still there): kept. The other is still used by `kept`.
    assert inputs["parent"].exists() and inputs["shared"].exists()
    survivor = services.history.get_run(child)
    assert survivor is not None and survivor.parent_id is None  # the child stays, without its parent
    assert services.history.get_run(kept).status == "succeeded" and services.history.trash_count() == 0

    services.history.trash([kept, child])
    services.history.empty_trash()
    assert not inputs["parent"].exists() and not inputs["shared"].exists()  # no run uses them any more


def test_emptying_the_trash_sweeps_old_inputs_no_run_names_and_keeps_young_or_used_ones(services):
    """A refused submission (another program's lock, a refused extend) has stored its picture
    already: the trash's emptying removes it once it is an hour old and no row names it."""
    used = Path(services.history.get_run(make_video_run(services)).input_image.path)
    _, orphan = services.storage.save_input(Image.new("RGB", (40, 30), (1, 2, 3)))
    _, young = services.storage.save_input(Image.new("RGB", (40, 30), (4, 5, 6)))
    _, reused = services.storage.save_input(Image.new("RGB", (40, 30), (7, 8, 9)))
    two_hours_ago = time.time() - 2 * 3600
    for path in (used, orphan, reused):
        os.utime(path, (two_hours_ago, two_hours_ago))
    services.storage.save_input(Image.new("RGB", (40, 30), (7, 8, 9)))  # about to be named again

    outcome = services.history.empty_trash()
    assert not orphan.exists() and outcome.files == 1 and outcome.bytes > 0 and outcome.runs == 0
    assert used.exists() and young.exists() and reused.exists()


def test_purge_leaves_runs_that_are_not_in_the_trash(services):
    run_id = make_video_run(services)
    outcome = services.history.purge([run_id])
    assert outcome.runs == 0 and outcome.files == 0
    assert all(p.is_file() for p in media(services.history.get_run(run_id)))


def test_trash_and_restore_finish_a_move_interrupted_half_way(services):
    """A crash between renaming files and recording the trash leaves files at both places; the
    next trash or restore moves whatever is where it should not be."""
    run_id = make_video_run(services)
    run = services.history.get_run(run_id)
    video, poster = Path(run.video_path), Path(run.poster_path)
    (video.parent / TRASH_FOLDER).mkdir()
    video.rename(video.parent / TRASH_FOLDER / video.name)  # moved, but the row never heard of it
    services.history.trash([run_id])
    trashed = services.history.get_run(run_id)
    assert all(p.is_file() and p.parent.name == TRASH_FOLDER for p in media(trashed))
    Path(trashed.poster_path).rename(poster)  # half of a restore
    services.history.restore([run_id])
    assert all(p.is_file() for p in media(services.history.get_run(run_id)))
    assert media(services.history.get_run(run_id)) == media(run)


def test_a_run_number_is_never_given_twice_after_the_newest_runs_are_deleted_for_good(services, tmp_path):
    """SQLite gives a new row one more than the largest id left: emptying the trash of the newest
    runs made their numbers free, and the next run (or an import) took one again."""
    first, newest = make_video_run(services), make_video_run(services, prompt="zebracorn")
    archive = services.export_runs([first], tmp_path / "first.zip")
    services.history.trash([newest])
    services.history.empty_trash()
    after = make_video_run(services, prompt="giraffe")
    assert after > newest and services.history.get_run(newest) is None
    services.history.trash([after])
    services.history.empty_trash()
    [imported] = services.import_file(archive)
    assert imported > after


def test_notes_are_bounded_as_an_export_carries_them(services, tmp_path):
    """The run page took 200,000 characters of notes; an export then wrote a row the import refuses."""
    from studio.views import MAX_NOTES_CHARS

    run_id = make_video_run(services)
    with pytest.raises(ValueError, match="Notes are limited to 10,000 characters"):
        services.history.set_notes(run_id, "n" * 200_000)
    assert services.history.get_run(run_id).notes == ""
    services.history.set_notes(run_id, "n" * MAX_NOTES_CHARS)
    archive = services.export_runs([run_id], tmp_path / "notes.zip")
    [imported] = services.import_file(archive)
    assert services.history.get_run(imported).notes == "n" * MAX_NOTES_CHARS
