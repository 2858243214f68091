"""A run's poster and thumbnail, written from its first frame while the encoder is still at work.

Both are made from the first frame, which is known long before the video is done; written after
the encode (as they were), their ~25 ms for a 512x512 run (the colour conversion of a 4:2:0 frame
and two JPEGs) came after the last frame, in the run's fixed cost. On a thread of their own they
are ready by the time the encoder finishes.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any


class Stills:
    """`with Stills(poster, thumb) as stills:` around the encode, `stills.start(frame)` with the first
    frame, `stills.check()` after: the block never ends with a write still running (the run's
    all-or-nothing cleanup may follow at once), and `check` raises what the writing raised."""

    def __init__(self, poster: Path, thumb: Path):
        self._poster, self._thumb = poster, thumb
        self._pool: ThreadPoolExecutor | None = None
        self._future: Future[None] | None = None

    def __enter__(self) -> Stills:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stills")
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._pool is not None
        self._pool.shutdown(wait=True)

    def start(self, frame: Any) -> None:
        assert self._pool is not None, "start() is called inside the with block"
        if self._future is None:
            self._future = self._pool.submit(_write, frame, self._poster, self._thumb)

    def check(self) -> None:
        """Raise what writing the stills raised (a full disk, a folder taken away)."""
        if self._future is None:
            raise ValueError("There was no frame to make a poster from.")
        self._future.result()


def _write(frame: Any, poster: Path, thumb: Path) -> None:
    from studio.media.thumbs import write_poster, write_thumbnail
    from studio.media.yuv import as_rgb

    rgb = as_rgb(frame)  # a streamed frame may be 4:2:0 planes (studio.media.yuv)
    write_poster(rgb, poster)
    write_thumbnail(rgb, thumb)
