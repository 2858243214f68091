"""Benchmark: the gallery page with 10,000 runs against the same page with an empty history.

Two data folders in a temporary directory: one seeded with N runs (default 10,000; engines,
statuses, sizes, frame counts, seeds, tags, favourites, a year of queue times) and a thumbnail file
per run, one left empty. The thumbnails are N real JPEG files, each at its own path under
outputs/<month>/ as the worker names them, but their bytes are copies of 8 distinct small JPEGs
encoded once (writing 10,000 distinct images would only slow the seeding, not the page).

The page is rendered through Streamlit's AppTest, the real frame (frame.py) with the gallery page
selected: the first page of the gallery, and a search carried in the URL (?q=harbour+dusk). A
render is one script run; its server-side time is the script thread's run of the page (the frame
and the gallery page, services already built), and AppTest's whole round trip is printed beside it.
Rounds alternate the two histories so that a busy machine weighs on both alike. Medians are
printed; the last line is JSON: {"bench": "gallery", ..., "ratio": the larger of full / empty
server-side medians over the two views}.

    python bench/gallery.py [--runs 10000] [--reps 5] [--rounds 4]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__" and not __package__:
    # Started as a script: run again as a module from the project root, so that `studio` is
    # importable exactly as it is for the app (no changes to sys.path).
    os.chdir(PROJECT_ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "bench.gallery", *sys.argv[1:]])

from PIL import Image
from sqlalchemy import insert

from studio.config import Paths
from studio.db import migrate
from studio.db.engine import make_engine
from studio.db.models import Run, RunTag
from studio.storage import Storage

ENGINES = ("motion", "i2vgen-xl", "wan-2.1-i2v", "svd-xt", "ltx-video")
SIZES = ((1280, 720), (720, 1280), (1024, 576), (832, 480), (512, 512), (768, 768))
FRAMES = (16, 25, 49, 81, 121)
FPS = (8, 16, 24)
WORDS = ["harbour", "dusk", "city", "neon", "forest", "river", "sea", "lighthouse", "storm", "slow", "push", "orbit", "drift", "dolly", "zoom", "pan", "golden", "hour", "rain", "snow", "night", "market", "mountain", "desert", "waves", "clouds", "portrait", "cat", "dog", "street"]
TAGS = ("keeper", "sunset", "client", "b-roll", "test")
SEARCH = "harbour dusk"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="runs in the seeded history")
    parser.add_argument("--reps", type=int, default=5, help="timed renders per view, history and round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds alternating the two histories")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="studio-bench-gallery-") as tmp:
        full, empty = Path(tmp) / "full", Path(tmp) / "empty"
        started = time.perf_counter()
        matching = seed(full, args.runs)
        seed(empty, 0)
        print(f"seeded {args.runs} runs and {args.runs} thumbnail files in {time.perf_counter() - started:.1f} s "
              f"({matching} match the search {SEARCH!r})")

        # Rounds alternate the histories (empty, full, full, empty, ...) so that the load of a shared
        # machine weighs on both alike.
        results = {name: {view: Timings() for view in VIEWS} for name in ("empty", "full")}
        for round_number in range(args.rounds):
            order = (("empty", empty), ("full", full)) if round_number % 2 == 0 else (("full", full), ("empty", empty))
            for name, folder in order:
                for view, timings in render_times(folder, args.reps).items():
                    results[name][view].extend(timings)

    for name, views in results.items():
        for view, timings in views.items():
            print(f"{name:>5} history, {view:<10}: script " + " ".join(f"{t * 1000:.0f}" for t in timings.script) + " ms")
    summary: dict[str, float] = {}
    ratios = []
    for view in VIEWS:
        full_t, empty_t = results["full"][view], results["empty"][view]
        ratio = full_t.median_script / empty_t.median_script
        ratios.append(ratio)
        print(f"median {view}: server-side script {full_t.median_script * 1000:.1f} ms with {args.runs} runs vs "
              f"{empty_t.median_script * 1000:.1f} ms empty -> ratio {ratio:.2f}; AppTest round trip "
              f"{full_t.median_round_trip * 1000:.1f} vs {empty_t.median_round_trip * 1000:.1f} ms")
        key = view.replace(" ", "_")
        summary |= {f"{key}_ms": round(full_t.median_script * 1000, 1),
                    f"empty_{key}_ms": round(empty_t.median_script * 1000, 1),
                    f"{key}_round_trip_ms": round(full_t.median_round_trip * 1000, 1),
                    f"empty_{key}_round_trip_ms": round(empty_t.median_round_trip * 1000, 1)}
    print(json.dumps({"bench": "gallery", "runs": args.runs, "renders_per_view": args.reps * args.rounds, **summary,
                      "ratio": round(max(ratios), 3)}))
    return 0


VIEWS = ("first page", "search")


class Timings:
    """Seconds per render: the script run on the server's script thread, and AppTest's whole round
    trip (which adds its own reading of the page back)."""

    def __init__(self) -> None:
        self.script: list[float] = []
        self.round_trip: list[float] = []

    def extend(self, other: Timings) -> None:
        self.script += other.script
        self.round_trip += other.round_trip

    @property
    def median_script(self) -> float:
        return statistics.median(self.script)

    @property
    def median_round_trip(self) -> float:
        return statistics.median(self.round_trip)


def seed(data_dir: Path, count: int) -> int:
    """A migrated history with `count` runs written in bulk (the triggers keep the search index in
    step) and a thumbnail file per run. Returns how many runs match the search."""
    paths = Paths(data_dir=data_dir, logs_dir=data_dir / "logs", database_url=f"sqlite:///{data_dir / 'studio.db'}")
    engine = make_engine(paths.database_url)
    migrate.upgrade(engine, paths.sqlite_path)
    storage = Storage(inputs_dir=paths.inputs_dir, outputs_dir=paths.default_outputs_dir, run_logs_dir=paths.run_logs_dir)
    rng = random.Random(7)
    thumbs = [thumbnail_bytes(rng) for _ in range(8)]
    start = datetime(2025, 11, 1)
    rows, tags, matching = [], [], 0
    for run_id in range(1, count + 1):
        width, height = rng.choice(SIZES)
        frames, fps = rng.choice(FRAMES), rng.choice(FPS)
        queued = start + timedelta(minutes=52 * run_id + rng.randrange(50))
        prompt = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(6, 14)))
        matching += all(word in prompt.split() for word in SEARCH.split())
        status = rng.choices(("succeeded", "failed", "canceled"), weights=(90, 7, 3))[0]
        thumb = None
        if status == "succeeded":
            thumb = storage.run_files(run_id, queued).thumb
            thumb.parent.mkdir(parents=True, exist_ok=True)
            thumb.write_bytes(thumbs[run_id % len(thumbs)])
        rows.append({
            "id": run_id, "status": status, "engine": rng.choice(ENGINES), "prompt": prompt, "negative_prompt": "",
            "seed": rng.randrange(2**32), "steps": 30, "guidance": 7.5, "frames": frames, "fps": fps,
            "width": width, "height": height, "params": {"prompt": prompt, "frames": frames, "fps": fps},
            "queued_at": queued, "started_at": queued + timedelta(seconds=5), "finished_at": queued + timedelta(seconds=95),
            "thumb_path": str(thumb) if thumb else None, "favorite": rng.random() < 0.05,
            "parent_id": run_id - 1 if run_id > 1 and rng.random() < 0.1 else None,
        })
        tags += [{"run_id": run_id, "tag": tag} for tag in TAGS if rng.random() < 0.04]
    with engine.begin() as conn:
        for chunk in range(0, len(rows), 1000):
            conn.execute(insert(Run), rows[chunk:chunk + 1000])
        if tags:
            conn.execute(insert(RunTag), tags)
    engine.dispose()
    return matching


def thumbnail_bytes(rng: random.Random) -> bytes:
    """A small JPEG like the worker's thumbnails (320 px wide, a gradient with a shape)."""
    image = Image.linear_gradient("L").resize((320, 180)).convert("RGB")
    tint = Image.new("RGB", image.size, tuple(rng.randrange(256) for _ in range(3)))
    image = Image.blend(image, tint, 0.6)
    image.paste(tuple(rng.randrange(256) for _ in range(3)), (rng.randrange(200), 40, rng.randrange(200) + 80, 140))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def render_times(data_dir: Path, reps: int) -> dict[str, Timings]:
    """Renders of the gallery's first page and of a search carried in the URL, each in its own
    AppTest session after a warm-up render, against the studio built on `data_dir`."""
    from streamlit.testing.v1 import AppTest

    from studio.ui.runtime import services

    os.environ["STUDIO_DATA_DIR"] = str(data_dir)
    services.clear()  # one Services per data folder: the cache would hand back the previous one
    try:
        timings = {}
        for view, query_params in (("first page", {}), ("search", {"q": SEARCH})):
            app = AppTest.from_file(str(PROJECT_ROOT / "frame.py"), default_timeout=120)
            app.query_params.update(query_params)
            app.run()  # the frame's default page; the gallery is selected next
            app.switch_page("pages/gallery.py").run()
            assert not app.exception, [e.value for e in app.exception]
            timings[view] = Timings()
            for _ in range(reps):
                with script_time() as script:
                    started = time.perf_counter()
                    app.run()
                    timings[view].round_trip.append(time.perf_counter() - started)
                assert not app.exception, [e.value for e in app.exception]
                timings[view].script.append(script.seconds)
        return timings
    finally:
        services().close()
        services.clear()


class script_time:
    """The time the script thread spends running the page (ScriptRunner._run_script), measured by
    wrapping that method for the duration of the block: the server-side cost of a render."""

    def __enter__(self) -> script_time:
        from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

        self.seconds = 0.0
        self._original = ScriptRunner._run_script
        original, timer = self._original, self

        def timed(runner, rerun_data):
            started = time.perf_counter()
            try:
                return original(runner, rerun_data)
            finally:
                timer.seconds += time.perf_counter() - started

        ScriptRunner._run_script = timed
        return self

    def __exit__(self, *_exc) -> None:
        from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

        ScriptRunner._run_script = self._original


if __name__ == "__main__":
    raise SystemExit(main())
