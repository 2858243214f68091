"""Reading a zip that came from outside without trusting it.

Every member is checked from the central directory before anything is read (names, kinds, sizes,
compression ratio, count), and every read is bounded again while it happens, so a header that lies
about a size gets no further than the size it declared. Files are only ever written to paths this
studio builds itself, and those are checked to lie inside the folder they belong to.
"""

from __future__ import annotations

import hashlib
import logging
import re
import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

# One member: the largest studio video (minutes of 1280 px video) is far below this.
MAX_MEMBER_BYTES = 4 * 1024**3
# All members together: larger than any history moved in one zip; bigger ones are exported in parts.
MAX_TOTAL_BYTES = 64 * 1024**3
# An input picture is decoded in memory to check it: the largest accepted upload (40 MP) stored as
# PNG stays well below this even without compression.
MAX_INPUT_BYTES = 160 * 1024**2
# runs.json: a row is about 2 KB, so 10,000 runs with long prompts and notes fit, while parsing it
# stays within a few hundred MB of memory.
MAX_MANIFEST_BYTES = 32 * 1024**2
# Five files per run (video, GIF, poster, thumbnail, input) for the most runs an export may hold,
# plus runs.json and the folder entries a re-zipping tool may add.
MAX_MEMBERS = 6 * 10_000 + 16
# Exports store their members (videos, JPEGs and PNGs are compressed already) and a re-zipped JSON
# shrinks about tenfold; a member expanding more than this is a zip bomb. Small members are exempt:
# a few kilobytes of anything cannot hurt.
MAX_RATIO = 100
RATIO_EXEMPT_BYTES = 1024**2
MAX_NAME_CHARS = 255
# zipfile builds an object per central-directory entry before any check here can run, so the
# directory's declared size is checked first: MAX_MEMBERS entries with the longest names fit.
MAX_DIRECTORY_BYTES = MAX_MEMBERS * (46 + MAX_NAME_CHARS + 100)
CHUNK_BYTES = 1024**2
# The methods the export and common zip tools write; others (and encryption) are refused.
METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
UNSAFE_NAME = re.compile(r"(^/)|(^[A-Za-z]:)|[\\\x00-\x1f:]")

log = logging.getLogger(__name__)


class ArchiveError(ValueError):
    """The zip cannot be imported; the message says why. Nothing was changed."""


@contextmanager
def damaged(name: str, what: str = "is damaged") -> Iterator[None]:
    """Turn whatever zipfile raises on malformed bytes into an ArchiveError. zipfile's failures on
    crafted input are not a closed set (BadZipFile, EOFError, struct errors, zlib errors,
    NotImplementedError, ValueError from a negative seek...), so every exception but ours becomes
    "damaged"; only zipfile calls run inside this block."""
    try:
        yield
    except ArchiveError:
        raise
    except Exception as exc:
        # The exception's class stays in the log; the person is told what the file is.
        log.info("%s: zipfile said %s: %s", name, type(exc).__name__, exc)
        raise ArchiveError(f"Not a studio export: {name} {what}.") from None


@dataclass
class CheckedZip:
    """An open zip whose central directory passed every check; reads through it are bounded."""

    archive: zipfile.ZipFile
    name: str  # the zip's file name, for messages
    members: dict[str, zipfile.ZipInfo]

    @classmethod
    def open(cls, path: Path) -> CheckedZip:
        with damaged(path.name, "is not a zip file"):
            if directory_bytes(path) > MAX_DIRECTORY_BYTES:
                raise ArchiveError(f"Not a studio export: {path.name} lists more files than an export can hold.")
            archive = zipfile.ZipFile(path)
        try:
            return cls(archive, path.name, checked_members(archive, path.name))
        except BaseException:
            archive.close()
            raise

    def __enter__(self) -> CheckedZip:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.archive.close()

    @property
    def total_bytes(self) -> int:
        return sum(info.file_size for info in self.members.values())

    def read(self, member: str) -> bytes:
        """A member's bytes, never more than its header declared."""
        return b"".join(_chunks(self.archive, self.members[member], self.name))

    def copy(self, member: str, out: BinaryIO) -> str:
        """Write a member to `out`; returns the sha256 of what was written."""
        digest = hashlib.sha256()
        for chunk in _chunks(self.archive, self.members[member], self.name):
            digest.update(chunk)
            out.write(chunk)  # outside the "damaged" guard: a full disk is reported as such
        return digest.hexdigest()


def directory_bytes(path: Path) -> int:
    """The central directory's size as declared by the end records, found the way zipfile finds
    them (the end record at the very end, else the last one in the trailing 64 KB comment area;
    then the zip64 record just before it). 0 when there is none: zipfile refuses such a file."""
    with open(path, "rb") as file:
        size = file.seek(0, 2)
        start = max(0, size - (22 + 0xFFFF))
        file.seek(start)
        tail = file.read()
    at = len(tail) - 22
    if not (at >= 0 and tail[at:at + 4] == b"PK\x05\x06" and tail[-2:] == b"\x00\x00"):
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < 22:
            return 0
    declared = int.from_bytes(tail[at + 12:at + 16], "little")
    locator, record = at - 20, at - 20 - 56
    if locator >= 0 and tail[locator:locator + 4] == b"PK\x06\x07" and record >= 0 and tail[record:record + 4] == b"PK\x06\x06":
        declared = int.from_bytes(tail[record + 40:record + 48], "little")
    return declared


def checked_members(archive: zipfile.ZipFile, name: str) -> dict[str, zipfile.ZipInfo]:
    """The zip's files by name, after refusing anything unsafe in the central directory."""
    with damaged(name):
        infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ArchiveError(f"Not a studio export: {name} holds {len(infos)} files (at most {MAX_MEMBERS}).")
    members: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        member = info.filename
        _check_name(member, name)
        kind = stat.S_IFMT(info.external_attr >> 16)
        if info.is_dir():
            continue
        if kind not in (0, stat.S_IFREG):
            raise ArchiveError(f"Not a studio export: {name} contains a link or special file ({member}); refusing it.")
        if info.flag_bits & 0x1:
            raise ArchiveError(f"Not a studio export: {name} contains an encrypted file ({member}).")
        if info.compress_type not in METHODS:
            raise ArchiveError(f"Not a studio export: {name} uses a compression this studio does not read ({member}).")
        if member in members:
            raise ArchiveError(f"Not a studio export: {name} contains {member} twice.")
        if info.file_size > MAX_MEMBER_BYTES:
            raise ArchiveError(f"Not a studio export: {name} contains a file too large to be a studio video ({member}).")
        if info.file_size > RATIO_EXEMPT_BYTES and info.file_size > MAX_RATIO * info.compress_size:
            raise ArchiveError(f"Not a studio export: {name} contains a file that expands more than {MAX_RATIO}-fold "
                               f"({member}); refusing a possible zip bomb.")
        total += info.file_size
        members[member] = info
    if total > MAX_TOTAL_BYTES:
        raise ArchiveError(f"Not a studio export: {name} expands to {total / 1024**3:.0f} GB "
                           f"(at most {MAX_TOTAL_BYTES // 1024**3} GB).")
    return members


def _check_name(member: str, name: str) -> None:
    parts = PurePosixPath(member).parts
    if (len(member) > MAX_NAME_CHARS or UNSAFE_NAME.search(member) or ".." in parts
            or any(part in ("", ".") for part in member.rstrip("/").split("/"))):
        raise ArchiveError(f"Not a studio export: {name} contains an unsafe path ({member[:80]!r}); refusing it.")


def _chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> Iterator[bytes]:
    """Chunks of a member, counted: one byte past the declared size ends the import. zipfile also
    stops at the declared size and checks the CRC; this does not rely on either."""
    seen = 0
    with damaged(name):
        source = archive.open(info)
    with source:
        while True:
            with damaged(name):
                chunk = source.read(CHUNK_BYTES)
            if not chunk:
                return
            seen += len(chunk)
            if seen > info.file_size:
                raise ArchiveError(f"Not a studio export: {name} is damaged ({info.filename} is larger than "
                                   "its header says).")
            yield chunk


def inside(path: Path, folder: Path) -> Path:
    """`path`, after checking that it resolves to a place inside `folder`."""
    resolved, root = path.resolve(), folder.resolve()
    if not resolved.is_relative_to(root):
        raise ArchiveError(f"Not a studio export: a file would be written outside {folder}; refusing it.")
    return path


def upload_file_name(name: str) -> str:
    """A name to store an uploaded zip under, from the name the browser sent: that name is kept for
    messages when it is a plain file name, anything else ("", "..", a NUL, a path) is replaced."""
    plain = Path(name).name
    if plain in ("", ".", "..") or "\x00" in plain or len(plain) > 200:
        return "upload.zip"
    return plain
