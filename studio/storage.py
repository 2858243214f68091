"""Where files live. Inputs are content-addressed (re-runs share one copy); outputs are named with
the run id and time and written through a temporary name so no half-written file is ever visible."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import astuple, dataclass, fields
from datetime import datetime
from pathlib import Path

from PIL import Image

from studio.media.atomic import atomic_path, remove_stale_partials

# A temporary untouched this long, and held open by no process here, belongs to a writer that died.
# Generous, because a writer on another host sharing the folder cannot be seen in /proc.
PARTIAL_GRACE_S = 5 * 60.0
# A run's files are named run-<id, 6 digits>-<time>...: the prefix finds every attempt's.
RUN_STEM_PREFIX = "run-"


def run_stem_prefix(run_id: int) -> str:
    """How every file of a run begins ("run-000123-"; a seventh digit from run 1,000,000 on)."""
    return f"{RUN_STEM_PREFIX}{run_id:06d}-"


class DiskFull(OSError):
    """Not enough free space to write what was asked; the message says where and how much."""


class OutputNotWritable(PermissionError):
    """The output folder refuses writes (permissions, an immutable or read-only folder)."""

    def __init__(self, folder: Path):
        folder = Path(folder)
        # Name the folder that refused, not a month sub-folder it did not let us create.
        while not folder.exists() and folder.parent != folder:
            folder = folder.parent
        super().__init__(errno.EACCES, "permission denied", str(folder))
        self.folder = folder

    def __str__(self) -> str:
        return (f"Cannot write to the output folder {self.folder}: permission denied. "
                "Choose another folder on the Settings page or fix its permissions.")


# errnos that mean "this folder will not take files", whoever asks (root included).
_NOT_WRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS}


def image_digest(image: Image.Image) -> str:
    """The sha256 an intake-normalised image is stored under (Storage.save_input)."""
    digest = hashlib.sha256()
    digest.update(f"{image.width}x{image.height}:".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class RunFiles:
    video: Path
    gif: Path
    poster: Path
    thumb: Path
    sidecar: Path

    def remove(self) -> None:
        """Delete every one of these files that exists (a failed, cancelled or abandoned attempt)."""
        for path in astuple(self):
            try:
                Path(path).unlink(missing_ok=True)
            except OSError:  # the folder refuses deletes too: nothing more can be done here
                pass

    @contextmanager
    def all_or_nothing(self) -> Iterator[RunFiles]:
        """Write a run's files inside this block: if it raises, every one of them that exists is
        deleted, so a failed run never leaves a video without its poster or a poster without a row.
        A refused write is reported as OutputNotWritable naming the folder."""
        try:
            yield self
        except BaseException as error:
            self.remove()
            if isinstance(error, OSError) and not isinstance(error, OutputNotWritable) and error.errno in _NOT_WRITABLE:
                raise OutputNotWritable(self.video.parent) from error
            raise


def attempt_files(files: RunFiles, attempt: int) -> RunFiles:
    """Later attempts of a run write under their own names, so that an attempt that lost its lease
    and removes its files can never touch those of the attempt that holds the run now."""
    if attempt <= 1:
        return files
    stem = files.video.stem
    return RunFiles(**{
        field.name: (path := getattr(files, field.name)).with_name(f"{stem}-a{attempt}{path.name[len(stem):]}")
        for field in fields(files)
    })


def touch_input(path: Path) -> bool:
    """Make a stored input picture that is about to be named again young (the trash's sweep of
    unused pictures removes only old ones); False when there is no such file."""
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    except PermissionError:  # another user's file (a shared folder): it is there, and its row keeps it
        pass
    return True


@dataclass(frozen=True)
class Storage:
    inputs_dir: Path
    outputs_dir: Path
    run_logs_dir: Path
    # Refuse to start a job below this much free space: an encode that fails half-way wastes the run.
    min_free_bytes: int = 200 * 1024 * 1024

    def save_input(self, image: Image.Image) -> tuple[str, Path]:
        """Store an intake-normalised RGB image as PNG under its sha256; returns (sha256, path).
        Hashing the decoded pixels (not the upload's bytes) makes the same picture dedupe even when
        re-encoded or re-uploaded with other metadata."""
        sha = image_digest(image)
        path = self.inputs_dir / sha[:2] / f"{sha}.png"
        if not touch_input(path):
            self.ensure_free_space(path.parent)
            with atomic_path(path) as tmp:
                image.save(tmp, format="PNG")
        return sha, path

    def run_files(self, run_id: int, when: datetime) -> RunFiles:
        folder = self.outputs_dir / f"{when:%Y-%m}"
        stem = f"{run_stem_prefix(run_id)}{when:%Y%m%d-%H%M%S}"
        return RunFiles(
            video=folder / f"{stem}.mp4",
            gif=folder / f"{stem}.gif",
            poster=folder / f"{stem}.poster.jpg",
            thumb=folder / f"{stem}.thumb.jpg",
            sidecar=folder / f"{stem}.json",
        )

    def run_log(self, run_id: int) -> Path:
        return self.run_logs_dir / f"run-{run_id:06d}.log"

    def ensure_free_space(self, folder: Path, needed: int | None = None) -> None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            if error.errno in _NOT_WRITABLE:
                raise OutputNotWritable(folder) from error
            raise
        free = shutil.disk_usage(folder).free
        need = needed if needed is not None else self.min_free_bytes
        if free < need:
            raise DiskFull(
                f"Only {free / 1e6:.0f} MB free in {folder}; the studio needs at least {need / 1e6:.0f} MB "
                "to write this run. Free some space or choose another output folder in Settings."
            )

    def remove_stale_partials(self) -> int:
        """Delete the temporaries a killed writer left in the output folder; returns how many."""
        return remove_stale_partials(self.outputs_dir, older_than_s=PARTIAL_GRACE_S)

    def remove_partials_of_run(self, run_id: int) -> int:
        """Delete the temporaries an earlier attempt of this run left (it was killed or lost its
        lease, and never owns the run again), however young, unless a process here holds one open."""
        return remove_stale_partials(self.outputs_dir, older_than_s=0, stem_prefix=run_stem_prefix(run_id))

    def outputs_size_bytes(self) -> int:
        if not self.outputs_dir.exists():
            return 0
        return sum(p.stat().st_size for p in self.outputs_dir.rglob("*") if p.is_file())
