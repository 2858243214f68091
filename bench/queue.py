"""Benchmark: the queue on PostgreSQL. N tiny camera-motion jobs go through 1 worker and then through
3 workers (separate processes, each claiming with the studio's own claim, FOR UPDATE SKIP LOCKED),
on a fresh database each time.

    python bench/queue.py [--jobs 1000] [--workers 1 3] [--database-url URL]

Without --database-url a throwaway cluster is started (tests/pg.py: Debian's PostgreSQL, as the test
suite uses it). For each worker count it reports the claim latency (median and p99 of the claim
call, as each worker timed it), the throughput (jobs per second from the first start to the last
finish) and the exactly-once check: every job succeeded, on its first attempt, with one video of its
own, and the workers' claims add up to the jobs. The last line printed is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__" and not __package__:
    # Started as a script: run again as a module from the project root so `studio` imports as it
    # does for the app (no sys.path changes).
    os.chdir(PROJECT_ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "bench.queue", *sys.argv[1:]])

# The smallest job the camera-motion engine takes: the queue, not the rendering, is measured.
TINY = {"width": 64, "height": 64, "frames": 2, "fps": 8, "prompt": "bench"}
CHILD_TIMEOUT_S = 1800


def paths_for(data_dir: Path, database_url: str):
    from studio.config import Paths

    return Paths(data_dir=data_dir, logs_dir=data_dir / "logs", database_url=database_url)


def child(data_dir: Path, database_url: str, out: Path) -> None:
    """One worker process: run the queue until it is empty, timing every claim."""
    from studio.jobs import store as queue_store
    from studio.services import build_services

    latencies: list[float] = []
    claim = queue_store.claim_next

    def timed_claim(*args, **kwargs):
        started = time.perf_counter()
        try:
            return claim(*args, **kwargs)
        finally:
            latencies.append(time.perf_counter() - started)

    queue_store.claim_next = timed_claim  # the worker calls it through the module
    services = build_services(paths_for(data_dir, database_url))
    try:
        services.worker.run_until_idle(timeout=CHILD_TIMEOUT_S)
    finally:
        services.close()
    # The last claim found the queue empty: it is a claim too, but claimed nothing.
    out.write_text(json.dumps({"claims": len(latencies) - 1, "latencies_s": latencies}))


def one_round(database_url: str, jobs: int, workers: int, folder: Path) -> dict:
    from PIL import Image

    from studio.jobs.queue import SubmitRequest
    from studio.services import build_services

    data_dir = folder / f"data-{workers}"
    services = build_services(paths_for(data_dir, database_url))
    try:
        image = Image.new("RGB", (64, 64), (200, 120, 40))
        run_ids = services.queue.submit_many([SubmitRequest(engine="motion", params=dict(TINY), image=image,
                                                            image_name="bench.png") for _ in range(jobs)])
        outs = [folder / f"claims-{workers}-{n}.json" for n in range(workers)]
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        processes = [subprocess.Popen([sys.executable, "-m", "bench.queue", "--child", "--data-dir", str(data_dir),
                                       "--database-url", database_url, "--out", str(out)], cwd=PROJECT_ROOT, env=env)
                     for out in outs]
        for process in processes:
            try:
                process.wait(CHILD_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        reports = [json.loads(out.read_text()) for out in outs if out.exists()]
        rows = services.history.get_runs(run_ids)
    finally:
        services.close()
    latencies = sorted(s for report in reports for s in report["latencies_s"])
    finished = [row for row in rows if row.started_at and row.finished_at]
    span = (max(r.finished_at for r in finished) - min(r.started_at for r in finished)).total_seconds() if finished else 0
    videos = {row.video_path for row in rows if row.video_path}
    exactly_once = (len(reports) == workers and sum(r["claims"] for r in reports) == jobs
                    and all(row.status == "succeeded" and row.attempts == 1 for row in rows)
                    and len(videos) == jobs and all(Path(v).exists() for v in videos))
    return {
        "workers": workers, "jobs": jobs,
        "claim_median_ms": round(statistics.median(latencies) * 1000, 2) if latencies else None,
        "claim_p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2)
        if latencies else None,
        "jobs_per_s": round(jobs / span, 2) if span else None,
        "seconds": round(span, 1),
        "exactly_once": exactly_once,
        "by_worker": sorted(r["claims"] for r in reports),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--database-url", default=None, help="an empty PostgreSQL database per round is made "
                        "when omitted; given, the rounds share it (use an empty one)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.data_dir), args.database_url, Path(args.out))
        return
    from tests import pg

    cluster = None
    if args.database_url is None:
        reason = pg.unavailable_reason()
        if reason is not None:
            sys.exit(f"No PostgreSQL to benchmark on: {reason}")
        cluster = pg.Cluster(pg.find_binaries())
        cluster.start()
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="studio-bench-queue-") as folder:
            for workers in args.workers:
                url = args.database_url or cluster.database()
                result = one_round(url, args.jobs, workers, Path(folder))
                print(f"{workers} worker(s): {result['jobs']} jobs in {result['seconds']} s "
                      f"({result['jobs_per_s']} jobs/s); claim median {result['claim_median_ms']} ms, "
                      f"p99 {result['claim_p99_ms']} ms; claims per worker {result['by_worker']}; "
                      f"exactly once: {result['exactly_once']}", flush=True)
                results.append(result)
    finally:
        if cluster is not None:
            cluster.stop()
    print(json.dumps({"bench": "queue", "database": "postgresql", "rounds": results}))


if __name__ == "__main__":
    main()
