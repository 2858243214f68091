"""Write files so that a reader never sees half of one.

Everything the studio writes (videos, posters, thumbnails, sidecars) goes to a hidden temporary
name in the *same folder* as its destination and is renamed into place only when complete. A rename
within one folder is atomic on every filesystem we care about, so after a crash the destination is
either the old file, the new file, or absent — never truncated. Leftover temporaries are
recognisable by PARTIAL_MARKER and can be swept with `remove_stale_partials`.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PARTIAL_MARKER = ".partial"


def partial_path(path: Path) -> Path:
    """The temporary name for `path`: hidden, unique, and keeping the suffix so that tools which
    pick a format from the extension (ffmpeg, Pillow) still do the right thing."""
    token = secrets.token_hex(4)
    return path.with_name(f".{path.stem}.{token}{PARTIAL_MARKER}{path.suffix}")


@contextmanager
def atomic_path(path: Path | str, *, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success move it onto `path`, on error delete it.

    The body must create the file at the yielded path. `durable` flushes it to disk before the
    rename, so a power cut cannot leave a renamed but empty file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(path)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"Nothing was written to {tmp} for {path.name}.")
        if durable:
            _fsync_file(tmp)
        if path.is_dir():  # rename() would say only "Is a directory", naming the temporary
            raise IsADirectoryError(errno.EISDIR, f"Cannot write {path.name}: a folder of that name is in the way", str(path))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path | str, data: bytes, *, durable: bool = True) -> Path:
    """Write `data` to `path` atomically and return `path`."""
    path = Path(path)
    with atomic_path(path, durable=durable) as tmp:
        tmp.write_bytes(data)
    return path


def atomic_write_text(path: Path | str, text: str, *, durable: bool = True) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), durable=durable)


def remove_stale_partials(folder: Path | str, *, older_than_s: float = 3600.0, stem_prefix: str = "") -> int:
    """Delete temporaries left in `folder` (recursively) by a crashed writer; returns how many.

    Only names `partial_path` makes are touched (and of those, only temporaries for files whose
    name starts with `stem_prefix`). A temporary is kept while it is young (a writer on another host
    sharing the folder may still be filling it) or while a process here holds it open (another
    worker encoding right now: ffmpeg keeps its output open until it exits)."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than_s
    candidates = [p for p in folder.rglob(f".{stem_prefix}*{PARTIAL_MARKER}*") if _PARTIAL_NAME.match(p.name)]
    if not candidates:
        return 0
    held = _open_files()
    removed = 0
    for candidate in candidates:
        try:
            if (candidate.is_file() and not candidate.is_symlink() and candidate.stat().st_mtime < cutoff
                    and _identity(candidate) not in held):
                candidate.unlink()
                removed += 1
        except FileNotFoundError:  # another sweeper or the writer itself got there first
            continue
    return removed


# ".{stem}.{8 hex}.partial{suffix}", as partial_path names them.
_PARTIAL_NAME = re.compile(r"^\..+\.[0-9a-f]{8}" + re.escape(PARTIAL_MARKER) + r"(\.[^./]*)?$")


def _identity(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_dev, info.st_ino


def _open_files() -> set[tuple[int, int]]:
    """(device, inode) of every file some process we can see has open (Linux /proc; empty elsewhere)."""
    held: set[tuple[int, int]] = set()
    proc = Path("/proc")
    if not proc.is_dir():
        return held
    for fd_dir in proc.glob("[0-9]*/fd"):
        try:
            descriptors = list(fd_dir.iterdir())
        except OSError:  # the process ended, or is not ours to look at
            continue
        for fd in descriptors:
            try:
                info = os.stat(fd)
            except OSError:
                continue
            held.add((info.st_dev, info.st_ino))
    return held


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
