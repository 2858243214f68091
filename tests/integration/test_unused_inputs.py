"""The sweep of unused input pictures (with the trash's emptying) on a large history: more stored
pictures than one statement may name. PostgreSQL's driver takes at most 65,535 parameters a
statement (stock SQLite builds 32,766; this one more), so the test runs there."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from PIL import Image

from studio.db.engine import session_scope
from studio.jobs.queue import SubmitRequest
from studio.trash import UNUSED_INPUT_GRACE_S, remove_unused_inputs, unused_input_files

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


def make_video_run(services) -> int:
    run_id = services.queue.submit(SubmitRequest(engine="motion", image=Image.new("RGB", (80, 60), (200, 120, 40)),
                                                 image_name="in.png", params={"width": 64, "height": 64, "frames": 4}))
    services.worker.run_until_idle()
    return run_id


def test_the_sweep_of_unused_inputs_asks_in_bounded_batches_and_spares_a_picture_touched_meanwhile(services):
    """A large history: more stored pictures than one statement may name (PostgreSQL's driver
    takes 65,535 parameters, stock SQLite 32,766); and a picture named again between the sweep's
    look and its removal stays."""
    used = Path(services.history.get_run(make_video_run(services)).input_image.path)
    folder = services.storage.inputs_dir / "00"
    folder.mkdir(parents=True, exist_ok=True)
    two_hours_ago = time.time() - 2 * 3600
    for index in range(66_000):  # placeholders named as stored pictures are
        path = folder / f"00{index:062x}.png"
        path.write_bytes(b"x")
        os.utime(path, (two_hours_ago, two_hours_ago))
    os.utime(used, (two_hours_ago, two_hours_ago))
    with session_scope(services.sessions) as session:
        unused = unused_input_files(session, services.storage.inputs_dir, UNUSED_INPUT_GRACE_S)
    assert len(unused) == 66_000 and used not in unused
    named_again = unused[0]
    os.utime(named_again)  # the touch a submission naming it again makes (Storage.save_input)
    assert remove_unused_inputs(unused, UNUSED_INPUT_GRACE_S) == (65_999, 65_999)
    assert named_again.exists() and used.exists() and len(list(folder.iterdir())) == 1
