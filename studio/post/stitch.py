"""One video from an extend chain: each link's clip after the other, joined at the shared frame.

A continuation starts from the last frame of the run it extends, so its first frame shows what the
previous clip's last frame already showed: it is written once (the later copy is dropped), so the
joined video neither stutters nor skips at a seam. The links' sound (LTX-2 makes some) is joined the
same way, on the picture's timeline.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from studio.media.audio import AudioTrack
from studio.media.encode import iter_video_frames, probe_video, read_audio, write_mp4


def stitch_chain(videos: Sequence[Path | str], destination: Path | str, *, fps: int) -> int:
    """Write the clips, first link first, as one H.264 yuv420p MP4 at `destination` (atomically),
    at the first clip's size (a link made at another size is scaled to fit, centred); returns the
    number of frames written."""
    if not videos:
        raise ValueError("A chain needs at least one video.")
    clips = [probe_video(video) for video in videos]
    size = (clips[0].width, clips[0].height)
    written = 0

    def frames() -> Iterator[np.ndarray]:
        nonlocal written
        for index, video in enumerate(videos):
            clip = iter_video_frames(video, fit=size)
            try:
                if index > 0:
                    next(clip, None)  # the shared frame, already written as the previous clip's last
                for frame in clip:
                    written += 1
                    yield frame
            finally:
                clip.close()

    total = sum(clip.frames for clip in clips) - (len(clips) - 1)
    sound = chain_sound(videos, [clip.frames for clip in clips], fps)
    write_mp4(frames(), fps, destination, audio=sound.fitted(total / fps) if sound is not None else None)
    return written


def chain_sound(videos: Sequence[Path | str], frames: Sequence[int], fps: int) -> AudioTrack | None:
    """The links' sound one after the other, on the joined picture's timeline: each link's track
    fitted to its clip, less the shared frame's time at each seam (as the picture drops that frame),
    silence for a silent link; None when no link has sound. Every track is read at the first
    track's rate and with the most channels any has (ffmpeg resamples and remixes)."""
    tracks = [read_audio(video) for video in videos]
    present = [track for track in tracks if track is not None]
    if not present:
        return None
    rate, channels = present[0].sample_rate, max(track.channels for track in present)
    pieces = []
    for index, (video, track, count) in enumerate(zip(videos, tracks, frames, strict=True)):
        if track is None:
            samples = np.zeros((channels, round(count / fps * rate)), dtype=np.float32)
        else:
            if (track.sample_rate, track.channels) != (rate, channels):
                track = read_audio(video, sample_rate=rate, channels=channels)
            samples = track.fitted(count / fps).samples
        pieces.append(samples[:, round(rate / fps):] if index > 0 else samples)
    return AudioTrack(np.concatenate(pieces, axis=1), rate)
