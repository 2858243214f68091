"""Whether the worker holding a run is known to be dead, from its pid.

A pid names a process only on one boot of one machine, inside one pid namespace: containers with
host networking share a hostname, and a rebooted or resumed host reuses pids. So a claim records the
claiming process's boot id and pid namespace (runs.worker_boot), and another process trusts the pid
only when both match its own. Anywhere else the lease alone decides (studio.jobs.store).
"""

from __future__ import annotations

import os
import socket
import uuid
from functools import cache
from pathlib import Path


@cache
def machine_identity() -> str | None:
    """This process's boot id and pid namespace ('<boot id>/<pid ns inode>'), or None where the
    system does not say (then no pid is trusted and only leases decide)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None
    return f"{boot}/{namespace}" if boot else None


def make_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def worker_is_dead_locally(worker_id: str | None, worker_boot: str | None) -> bool:
    """True when the worker ran on this boot and pid namespace and its process no longer exists.
    False whenever that cannot be known: the lease then decides."""
    if not worker_id:
        return True
    local = machine_identity()
    if local is None or worker_boot != local:
        return False
    pid_text = worker_id.split(":")[1] if worker_id.count(":") >= 1 else ""
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # this very process, which cannot have left its own job behind while it runs
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """A killed process nobody has reaped yet still answers kill(pid, 0); on Linux its state says."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"
