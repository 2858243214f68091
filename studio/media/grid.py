"""The exported comparison: several videos as one labelled side-by-side (or grid) MP4.

Every video is decoded as a stream (studio.media.encode.iter_video_frames), scaled to fit a common
cell and pasted into one canvas per output frame, which goes straight to the encoder: memory stays at
one frame per video plus the canvas, whatever the clips' length.

Choices, so that the export shows what the synced player shows:
- Cell size: the largest input's size (by area), shrunk so the whole grid fits MAX_WIDTH x
  MAX_HEIGHT; other sizes are fitted inside the cell keeping their aspect, on the cell's background.
- Time: clips play by time, not by frame number. The output runs at the highest input frame rate;
  slower clips are resampled (frames repeated), and a clip that ends early holds its last frame
  until the longest one ends.
- Labels: drawn with Pillow's bundled font in a strip above each cell, because the bundled ffmpeg's
  drawtext needs a font file that a given machine may not have. A label too long for its cell wraps
  to two lines or shrinks (fit_text) rather than being cut: small cells of a big sweep still say
  which values they show.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from studio.media.encode import iter_video_frames, probe_video, write_mp4

MAX_WIDTH = 1920
MAX_HEIGHT = 1440
GAP = 4  # pixels between cells; even, so every offset stays even for yuv420p
BACKGROUND = (18, 18, 22)
LABEL_BACKGROUND = (34, 34, 40)
LABEL_TEXT = (236, 236, 236)
TITLE_TEXT = (255, 190, 120)
MIN_TEXT_SIZE = 9  # px: below this the bundled font stops being legible in an exported video


@dataclass(frozen=True)
class GridCell:
    """One cell: a video (None for a run without one: the cell shows `missing` instead) and its label."""

    video: Path | None
    label: str
    missing: str = "no video"


@dataclass(frozen=True)
class GridLayout:
    columns: int
    rows: int
    cell_width: int
    cell_height: int
    label_height: int
    title_height: int

    @property
    def width(self) -> int:
        return self.columns * self.cell_width + (self.columns - 1) * GAP

    @property
    def height(self) -> int:
        return self.title_height + self.rows * (self.label_height + self.cell_height) + (self.rows - 1) * GAP

    def cell_origin(self, index: int) -> tuple[int, int]:
        """Top-left (x, y) of cell `index`'s video area (its label sits just above)."""
        row, column = divmod(index, self.columns)
        x = column * (self.cell_width + GAP)
        y = self.title_height + row * (self.label_height + self.cell_height + GAP) + self.label_height
        return x, y


def default_columns(count: int) -> int:
    """Side by side up to three; a near-square grid from four on (4 → 2x2, 6 → 3x2, 9 → 3x3)."""
    return count if count <= 3 else math.ceil(math.sqrt(count))


def plan_layout(sizes: Sequence[tuple[int, int]], count: int, *, columns: int | None = None, title: bool = False,
                max_width: int = MAX_WIDTH, max_height: int = MAX_HEIGHT) -> GridLayout:
    """Where `count` cells go, given the sizes of the videos there are (at least one)."""
    if count < 1:
        raise ValueError("A comparison needs at least one cell.")
    if not sizes:
        raise ValueError("None of the runs has a video to compare.")
    columns = max(1, min(columns or default_columns(count), count))
    rows = math.ceil(count / columns)
    ref_width, ref_height = max(sizes, key=lambda s: s[0] * s[1])
    # Labels scale with the cell but stay readable; the scale is solved with them included.
    label_height = _even(min(44, max(22, ref_height * 0.08)))
    title_height = label_height if title else 0
    scale = min(1.0,
                (max_width - (columns - 1) * GAP) / (columns * ref_width),
                (max_height - title_height - rows * label_height - (rows - 1) * GAP) / (rows * ref_height))
    return GridLayout(columns=columns, rows=rows, cell_width=_even(ref_width * scale),
                      cell_height=_even(ref_height * scale), label_height=label_height, title_height=title_height)


def compose_grid(cells: Sequence[GridCell], path: Path | str, *, columns: int | None = None, title: str = "",
                 metadata: Mapping[str, str] | None = None, crf: int = 20, preset: str = "medium") -> Path:
    """Write the cells (row-major, `columns` per row) as one labelled MP4 at `path`, atomically.
    H.264 yuv420p with faststart, like every studio video. Returns `path`."""
    # 1. What the inputs are: size and frame rate of each video.
    infos = {i: probe_video(c.video) for i, c in enumerate(cells) if c.video is not None}
    layout = plan_layout([(v.width, v.height) for v in infos.values()], len(cells), columns=columns, title=bool(title))
    fps = max((v.fps for v in infos.values() if v.fps > 0), default=24.0)
    out_fps = round(fps) if abs(fps - round(fps)) < 0.01 else fps

    # 2. The still parts (background, labels, placeholders) are drawn once.
    canvas = _background(cells, layout, title)

    # 3. Stream every video into its cell; write_mp4 consumes the canvas before the next frame is drawn.
    streams: dict[int, Iterator[np.ndarray]] = {
        i: iter_video_frames(cells[i].video, fit=(layout.cell_width, layout.cell_height), background=BACKGROUND,
                             fps=None if abs(info.fps - out_fps) < 0.01 else out_fps)
        for i, info in infos.items()
    }

    def frames() -> Iterator[np.ndarray]:
        try:
            while streams:
                for index in list(streams):
                    frame = next(streams[index], None)
                    if frame is None:
                        del streams[index]  # ended: its cell keeps showing the last frame
                        continue
                    x, y = layout.cell_origin(index)
                    canvas[y:y + layout.cell_height, x:x + layout.cell_width] = frame
                if streams:
                    yield canvas
        finally:
            for stream in streams.values():
                stream.close()

    return write_mp4(frames(), out_fps, path, metadata=metadata, crf=crf, preset=preset)


# ---------------------------------------------------------------------------------------------


def _background(cells: Sequence[GridCell], layout: GridLayout, title: str) -> np.ndarray:
    image = Image.new("RGB", (layout.width, layout.height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=round(layout.label_height * 0.6))
    if title:
        _text(draw, (0, 0, layout.width, layout.title_height), title, TITLE_TEXT)
    for index, cell in enumerate(cells):
        x, y = layout.cell_origin(index)
        strip = (x, y - layout.label_height, x + layout.cell_width, y)
        draw.rectangle((strip[0], strip[1], strip[2] - 1, strip[3] - 1), fill=LABEL_BACKGROUND)
        _text(draw, strip, cell.label, LABEL_TEXT)
        if cell.video is None:
            box = (x, y, x + layout.cell_width, y + layout.cell_height)
            width = draw.textlength(cell.missing, font=font)
            draw.text(((box[0] + box[2] - width) / 2, (box[1] + box[3]) / 2), cell.missing, font=font,
                      fill=(150, 150, 150), anchor="lm")
    return np.array(image)


@dataclass(frozen=True)
class FittedText:
    """A label laid out for its strip: the font size and the lines (all of the text unless
    `shortened`), each no wider than the strip less its padding."""

    size: int
    lines: tuple[str, ...]
    padding: int
    shortened: bool = False


def fit_text(text: str, width: int, height: int) -> FittedText:
    """Fit `text` into a width x height strip, losing as little as possible: one line at the strip's
    size; else two lines (split between words, ' · ' parts first) at a smaller size; else one line
    shrunk down to a still readable size; only then shortened with an ellipsis."""
    padding = max(4, height // 4)
    room = width - 2 * padding
    full = _size(height * 0.6)
    if _width(text, full) <= room:
        return FittedText(full, (text,), padding)
    two_lines = _size(height * 0.4)
    for first, second in _splits(text):
        if max(_width(first, two_lines), _width(second, two_lines)) <= room:
            return FittedText(two_lines, (first, second), padding)
    for size in range(full, MIN_TEXT_SIZE - 1, -1):
        if _width(text, size) <= room:
            return FittedText(size, (text,), padding)
    while text and _width(text + "…", MIN_TEXT_SIZE) > room:
        text = text[:-1]
    return FittedText(MIN_TEXT_SIZE, (text + "…",), padding, shortened=True)


def _splits(text: str) -> list[tuple[str, str]]:
    """Ways to break `text` into two lines, most balanced first: at ' · ' between label parts, then
    at any space."""
    for separator in (" · ", " "):
        parts = text.split(separator)
        if len(parts) > 1:
            cuts = sorted(range(1, len(parts)),
                          key=lambda i: abs(len(separator.join(parts[:i])) - len(separator.join(parts[i:]))))
            return [(separator.join(parts[:i]), separator.join(parts[i:]).strip()) for i in cuts]
    return []


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _width(text: str, size: int) -> float:
    return _font(size).getlength(text)


def _size(value: float) -> int:
    return max(MIN_TEXT_SIZE, round(value))


def _text(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], text: str, fill) -> None:
    """Left-aligned and vertically centred, laid out by fit_text so that the label is never cut."""
    fitted = fit_text(text, box[2] - box[0], box[3] - box[1])
    font = _font(fitted.size)
    line_height = (box[3] - box[1]) / len(fitted.lines)
    for index, line in enumerate(fitted.lines):
        draw.text((box[0] + fitted.padding, box[1] + line_height * (index + 0.5)), line, font=font, fill=fill,
                  anchor="lm")


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)
