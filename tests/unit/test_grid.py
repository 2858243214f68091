"""The exported comparison grid, with the real ffmpeg: layout, frame count, time alignment, labels."""

import numpy as np
import pytest

from studio.media.encode import iter_video_frames, probe_video, read_video_frames, write_mp4
from studio.media.grid import GAP, LABEL_BACKGROUND, GridCell, compose_grid, default_columns, plan_layout


def clip(path, colours, size=(64, 64), fps=24):
    """A clip whose frame i is one flat colour, so a cell's content says which frame it shows."""
    width, height = size
    frames = np.stack([np.full((height, width, 3), c, np.uint8) for c in colours])
    return write_mp4(frames, fps, path, preset="ultrafast")


def cell_pixels(frame, layout, index):
    x, y = layout.cell_origin(index)
    return frame[y:y + layout.cell_height, x:x + layout.cell_width]


def label_pixels(frame, layout, index):
    x, y = layout.cell_origin(index)
    return frame[y - layout.label_height:y, x:x + layout.cell_width]


def near(pixels, colour, tolerance=12):
    # The middle of the area: compression softens the edges next to other colours.
    height, width = pixels.shape[:2]
    centre = pixels[height * 3 // 8: height * 5 // 8, width * 3 // 8: width * 5 // 8]
    return np.abs(centre.astype(int) - colour).max() <= tolerance


@pytest.mark.parametrize(("count", "columns", "rows"), [(2, 2, 1), (3, 3, 1), (4, 2, 2), (6, 3, 2), (9, 3, 3)])
def test_side_by_side_up_to_three_then_a_near_square_grid(count, columns, rows):
    layout = plan_layout([(512, 512)], count)
    assert (layout.columns, layout.rows) == (columns, rows) and default_columns(count) == columns


def test_cells_shrink_to_keep_the_grid_within_the_maximum_size_and_stay_even():
    layout = plan_layout([(1280, 720), (640, 360)], 4)
    assert layout.width <= 1920 and layout.height <= 1440
    assert (layout.cell_width, layout.cell_height) == (958, 538)  # 1280x720 scaled to fit two across
    assert all(v % 2 == 0 for v in (layout.width, layout.height, layout.cell_width, layout.cell_height))
    assert plan_layout([(256, 256)], 3).cell_width == 256  # small clips are not enlarged


def test_three_clips_side_by_side_have_the_grid_size_and_every_frame(tmp_path):
    colours = [(200, 40, 40), (40, 200, 40), (40, 40, 200)]
    cells = [GridCell(clip(tmp_path / f"{i}.mp4", [c] * 24), f"#{i + 1} · guidance={g}")
             for i, (c, g) in enumerate(zip(colours, (0.5, 1, 2)))]
    out = compose_grid(cells, tmp_path / "compare.mp4", preset="ultrafast")
    info = probe_video(out)
    layout = plan_layout([(64, 64)], 3)
    assert (info.width, info.height) == (3 * 64 + 2 * GAP, layout.label_height + 64)
    assert (info.frames, info.fps, info.codec, info.pix_fmt) == (24, 24.0, "h264", "yuv420p")
    first = read_video_frames(out, max_frames=1)[0]
    for index, colour in enumerate(colours):  # each clip in its own cell, in order
        assert near(cell_pixels(first, layout, index), colour)
    assert not list(tmp_path.glob(".*partial*"))  # written through a temporary name


def test_labels_are_drawn_above_their_cells(tmp_path):
    video = clip(tmp_path / "a.mp4", [(90, 90, 90)] * 4)
    out = compose_grid([GridCell(video, "#7 · seed=42"), GridCell(video, "")], tmp_path / "labels.mp4",
                       preset="ultrafast", crf=10)
    layout = plan_layout([(64, 64)], 2)
    frame = read_video_frames(out, max_frames=1)[0]
    labelled, blank = label_pixels(frame, layout, 0), label_pixels(frame, layout, 1)
    text_pixels = (labelled.min(axis=-1) > 170).sum()  # light text on the dark strip
    assert text_pixels > 30
    assert (blank.min(axis=-1) > 170).sum() == 0
    assert np.abs(blank.astype(int) - LABEL_BACKGROUND).max() <= 8


def test_different_sizes_rates_and_lengths_line_up_by_time_and_short_clips_hold_their_last_frame(tmp_path):
    # A: 64x32 at 12 fps for 6 frames (0.5 s). B: 64x64 at 24 fps for 24 frames (1 s).
    a_colours = [(250, 0, 0), (0, 250, 0), (0, 0, 250), (250, 250, 0), (0, 250, 250), (250, 0, 250)]
    a = clip(tmp_path / "a.mp4", a_colours, size=(64, 32), fps=12)
    b = clip(tmp_path / "b.mp4", [(128, 128, 128)] * 24, fps=24)
    out = compose_grid([GridCell(a, "a"), GridCell(b, "b")], tmp_path / "mixed.mp4", preset="ultrafast", crf=10)
    info = probe_video(out)
    assert (info.fps, info.frames) == (24.0, 24)
    layout = plan_layout([(64, 32), (64, 64)], 2)
    assert (layout.cell_width, layout.cell_height) == (64, 64)
    frames = read_video_frames(out)
    a_cells = [cell_pixels(f, layout, 0) for f in frames]
    assert near(a_cells[0], a_colours[0]) and near(a_cells[1], a_colours[0])  # 12 fps: each frame shown twice
    assert near(a_cells[2], a_colours[1])
    for late in a_cells[12:]:  # after A has ended it holds its last frame
        assert near(late, a_colours[-1])
    # A's 2:1 picture is letterboxed in the square cell, not stretched.
    assert a_cells[0][4, 32].max() < 40 and a_cells[0][59, 32].max() < 40 and a_cells[0][20, 32][0] > 200


def test_a_run_without_video_gets_a_placeholder_cell(tmp_path):
    video = clip(tmp_path / "a.mp4", [(200, 200, 200)] * 5)
    out = compose_grid([GridCell(video, "#1"), GridCell(None, "#2", missing="failed")], tmp_path / "gap.mp4",
                       preset="ultrafast")
    info = probe_video(out)
    assert info.frames == 5 and info.width == 2 * 64 + GAP


def test_nothing_to_compare_is_refused_without_writing(tmp_path):
    with pytest.raises(ValueError, match="None of the runs has a video"):
        compose_grid([GridCell(None, "#1"), GridCell(None, "#2")], tmp_path / "none.mp4")
    assert not list(tmp_path.iterdir())


def test_streamed_frames_are_fitted_and_resampled(tmp_path):
    video = clip(tmp_path / "a.mp4", [(250, 0, 0), (0, 0, 250)], size=(32, 16), fps=4)
    frames = list(iter_video_frames(video, fit=(48, 48), fps=8))
    assert len(frames) == 4 and frames[0].shape == (48, 48, 3)
    assert frames[0][24, 24, 0] > 200 and frames[3][24, 24, 2] > 200
    assert frames[0][2, 24].max() < 20  # letterbox bars
    stream = iter_video_frames(video, fit=(48, 48))
    next(stream)
    stream.close()  # stopping early ends ffmpeg without error


def test_a_long_label_wraps_or_shrinks_to_fit_its_cell_instead_of_being_cut():
    from studio.media.grid import fit_text, _font

    text = "#12 · Motion amount=0.75 · Seed=1234567"
    fitted = fit_text(text, 180, 22)
    assert not fitted.shortened and " · ".join(fitted.lines).replace("  ", " ") == text
    room = 180 - 2 * fitted.padding
    assert all(_font(fitted.size).getlength(line) <= room for line in fitted.lines)
