"""The launcher's summary line counts exactly the check lines it printed, and every check line comes
before "Studio ready": real launch.py subprocesses on their own data folders and free ports."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time

from studio.config import PROJECT_ROOT

LAUNCH = PROJECT_ROOT / "launch.py"
CHECK_LINE = re.compile(r"^\[(OK|WARN|FAIL)\]")
SUMMARY = re.compile(r"^Checks: (\d+) OK, (\d+) WARN, (\d+) FAIL\.$")


def counted(lines: list[str]) -> tuple[int, int, int]:
    found = [m.group(1) for m in map(CHECK_LINE.match, lines) if m]
    return found.count("OK"), found.count("WARN"), found.count("FAIL")


def summary(lines: list[str]) -> tuple[int, int, int]:
    (match,) = [m for m in map(SUMMARY.match, lines) if m]
    return tuple(int(n) for n in match.groups())


def test_check_summary_counts_the_printed_lines(studio_env, data_dir):
    result = subprocess.run([sys.executable, str(LAUNCH), "--check", "--data-dir", str(data_dir)], env=studio_env,
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180)
    lines = result.stdout.splitlines()
    assert summary(lines) == counted(lines), result.stdout
    assert sum(counted(lines)) >= 8  # python, packages, folders, port, database, ffmpeg, disk, engines…, gpu


def start_reader(process: subprocess.Popen) -> queue.Queue:
    """The process's stdout, line by line, on a queue (a thread reads it, so waits can be bounded)."""
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.rstrip()) for line in process.stdout], daemon=True).start()
    return lines


def read_lines(lines: queue.Queue, until: str | None, seconds: float) -> list[str]:
    """Lines until one contains `until` (None: whatever comes within `seconds`), bounded."""
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        seen.append(line)
        if until is not None and until in line:
            return seen
    if until is not None:
        raise AssertionError(f"{until!r} never printed; output:\n" + "\n".join(seen))
    return seen


def test_served_studio_prints_every_check_and_the_summary_before_ready(studio_env, free_port):
    launcher = subprocess.Popen([sys.executable, str(LAUNCH), "--no-browser", "--port", str(free_port)],
                                env=studio_env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, bufsize=1)
    try:
        output = start_reader(launcher)
        before = read_lines(output, "Studio ready at", 120)
        # Long enough for a GPU check still importing torch to print (it took seconds when it ran
        # in the background).
        after = read_lines(output, None, 15)
        assert not [line for line in after if CHECK_LINE.match(line) or SUMMARY.match(line)], after
        assert any(line.startswith(("[OK]   gpu", "[WARN] gpu")) for line in before), before
        assert summary(before) == counted(before), "\n".join(before)
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(60) == 0
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
