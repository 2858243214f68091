"""Benchmark: how long one render of the Generate page takes (Streamlit AppTest, fresh data folder).

The services are built first, as the server's lifespan builds them at boot; then the page is
rendered five times, each in a new AppTest (a new browser session), and the median is printed.

    python bench/render_generate.py [--reps 5]

The last line printed is JSON: {"bench": "render_generate", "median_s": ..., "runs_s": [...]}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__" and not __package__:
    # Started as a script: run again as a module from the project root so `studio` imports as it
    # does for the app (no sys.path changes).
    os.chdir(PROJECT_ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "bench.render_generate", *sys.argv[1:]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="studio-bench-") as folder:
        os.environ["STUDIO_DATA_DIR"] = folder
        os.environ.pop("STUDIO_DATABASE_URL", None)
        os.environ["STUDIO_LOGS_DIR"] = str(Path(folder) / "logs")
        from streamlit.testing.v1 import AppTest

        from studio.ui.runtime import services

        svc = services()
        try:
            times = []
            for _ in range(args.reps):
                at = AppTest.from_file(str(PROJECT_ROOT / "frame.py"), default_timeout=120)
                started = time.perf_counter()
                at.run()
                times.append(time.perf_counter() - started)
                if at.exception:
                    raise SystemExit(f"the page failed: {at.exception}")
        finally:
            svc.close()
    median = statistics.median(times)
    print(f"Generate render: median {median:.3f} s over {len(times)} renders")
    print(json.dumps({"bench": "render_generate", "median_s": round(median, 4),
                      "runs_s": [round(t, 4) for t in times]}))


if __name__ == "__main__":
    main()
