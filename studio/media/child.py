"""Child processes (ffmpeg) that die with the worker that started them.

A SIGKILLed worker cannot clean up after itself, and an orphaned ffmpeg keeps reading its pipe and
writing its output for a second or two, racing the next worker's cleanup. On Linux the kernel can
deliver a signal to a child when its parent dies (prctl PR_SET_PDEATHSIG); we ask for SIGKILL.

The signal fires when the *thread* that forked the child exits, not only the process. The studio
starts ffmpeg from the thread that feeds and waits for it, so that thread outlives the child anyway.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl
    except (OSError, AttributeError):
        return None


# Looked up once here, so the code run between fork and exec only calls an already resolved function.
_PRCTL = _load_prctl()


def tie_to_parent() -> Callable[[], None] | None:
    """A preexec_fn for subprocess.Popen that kills the child when this process dies (Linux), or
    None where the platform has no such facility (the child is then merely left to finish)."""
    if _PRCTL is None:
        return None
    parent = os.getpid()

    def _in_child() -> None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        # The parent may have died between fork and prctl; the signal would then never come.
        if os.getppid() != parent:
            os._exit(1)

    return _in_child
