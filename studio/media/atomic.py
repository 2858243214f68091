"""Write files so that a reader never sees half of one.

Everything the studio writes (videos, posters, thumbnails, sidecars) goes to a hidden temporary
name in the *same folder* as its destination and is renamed into place only when complete. A rename
within one folder is atomic on every filesystem we care about, so after a crash the destination is
either the old file, the new file, or absent — never truncated. Leftover temporaries are
recognisable by PARTIAL_MARKER and can be swept with `remove_stale_partials`.
"""

from __future__ import annotations

import os
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


def remove_stale_partials(folder: Path | str, *, older_than_s: float = 3600.0) -> int:
    """Delete temporaries left in `folder` (recursively) by a crashed writer; returns how many.
    Young ones are kept because a live writer may still be filling them."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than_s
    removed = 0
    for candidate in folder.rglob(f".*{PARTIAL_MARKER}*"):
        try:
            if candidate.is_file() and candidate.stat().st_mtime < cutoff:
                candidate.unlink()
                removed += 1
        except FileNotFoundError:  # another sweeper or the writer itself got there first
            continue
    return removed


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
