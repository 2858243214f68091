"""The file side of the trash. A trashed run's media files move into a `.trash` folder beside
them (same folder, so the move is an atomic rename on the same disk, whatever output folder the
run was written to) and come back on restore; the database records where they are at each moment.
Emptying the trash deletes them for good."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from studio.db.models import Run

TRASH_FOLDER = ".trash"
# Columns holding a run's media paths. The GIF and the sidecar JSON are not recorded: they sit
# beside the video under the same name (see Storage.run_files) and travel with it.
PATH_COLUMNS = ("video_path", "poster_path", "thumb_path")
VIDEO_SIBLINGS = (".gif", ".json")


def trashed_location(path: Path) -> Path:
    return path if path.parent.name == TRASH_FOLDER else path.parent / TRASH_FOLDER / path.name


def restored_location(path: Path) -> Path:
    return path.parent.parent / path.name if path.parent.name == TRASH_FOLDER else path


def media_files(run: Run) -> list[Path]:
    """Every media file of a run as recorded (existing or not): video, GIF, sidecar, poster, thumb."""
    files = []
    if run.video_path:
        video = Path(run.video_path)
        files += [video, *(video.with_suffix(suffix) for suffix in VIDEO_SIBLINGS)]
    files += [Path(p) for p in (run.poster_path, run.thumb_path) if p]
    return files


@dataclass
class FileMoves:
    """Renames done so far, so that a failure half-way can put everything back."""

    done: list[tuple[Path, Path]] = field(default_factory=list)

    def move(self, source: Path, target: Path) -> None:
        if source == target or not source.exists():
            return  # nothing there (a failed run has no video), or moved by an earlier attempt
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        self.done.append((source, target))

    def undo(self) -> None:
        for source, target in reversed(self.done):
            if target.exists():
                os.replace(target, source)
        self.done.clear()


def move_run_files(run: Run, *, to_trash: bool) -> dict[str, str | None]:
    """Move a run's media files into (or out of) the trash; returns the new path columns. On any
    error the files already moved go back before the error propagates."""
    locate = trashed_location if to_trash else restored_location
    moves = FileMoves()
    try:
        for path in media_files(run):
            # Source and target follow from the name alone, whichever place the row recorded: after
            # a crash between a rename and the database update, trash and restore still finish.
            inside, outside = trashed_location(path), restored_location(path)
            moves.move(*((outside, inside) if to_trash else (inside, outside)))
    except OSError:
        moves.undo()
        raise
    return {column: str(locate(Path(value))) if (value := getattr(run, column)) else None for column in PATH_COLUMNS}


def delete_files(paths: Iterable[Path]) -> tuple[int, int]:
    """Delete files (and their copy at the other trash location); returns (count, bytes)."""
    count = size = 0
    for path in paths:
        for candidate in (trashed_location(path), restored_location(path)):
            if candidate.is_file():
                size += candidate.stat().st_size
                candidate.unlink()
                count += 1
    return count, size
