"""A history file SQLite cannot use (not a database at all, or damaged pages): the studio's error
for it, and the advice that names the backup copy to restore."""

from __future__ import annotations

from pathlib import Path

# The copy a migration takes sits beside the file: studio.db.bak-<time>-<revision> (studio.db.migrate).
BACKUP_INFIX = ".bak-"


class DatabaseUnusable(RuntimeError):
    """The database file cannot be opened as SQLite at all, or SQLite reports it damaged. `detail`
    says what is wrong with which file, `hint` what to do (move it away, restore a named copy)."""

    def __init__(self, detail: str, hint: str) -> None:
        super().__init__(f"{detail}. {hint[:1].upper()}{hint[1:]}.")
        self.detail = detail
        self.hint = hint


def newest_backup(sqlite_path: Path) -> Path | None:
    """The latest copy a migration kept beside the file (their names sort by the time taken)."""
    copies = sorted(p for p in sqlite_path.parent.glob(f"{sqlite_path.name}{BACKUP_INFIX}*") if p.is_file())
    return copies[-1] if copies else None


def restore_hint(sqlite_path: Path) -> str:
    backup = newest_backup(sqlite_path)
    if backup is None:
        return (f"move {sqlite_path.name} out of {sqlite_path.parent} (the studio then starts a new, empty "
                f"history); no backup copy ({sqlite_path.name}{BACKUP_INFIX}…) exists beside it")
    return (f"stop the studio, move {sqlite_path.name} away and restore the newest backup copy: "
            f"copy {backup} to {sqlite_path}")


def unusable(sqlite_path: Path, error: object) -> DatabaseUnusable | None:
    """The studio's error for a file SQLite cannot use, from SQLite's message; None for any other
    error (a lock, a missing table), which is no fault of the file."""
    text = str(error).lower()
    if "not a database" in text:
        return DatabaseUnusable(f"{sqlite_path} is not a SQLite database (it holds something else, or its "
                                "header is destroyed)", restore_hint(sqlite_path))
    if "malformed" in text or "disk image" in text or "corrupt" in text:
        return DatabaseUnusable(f"{sqlite_path} is damaged ({_first_line(error)})", restore_hint(sqlite_path))
    return None


def _first_line(error: object) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.splitlines()[0] if text else type(error).__name__
