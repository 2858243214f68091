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
    silence for a silent link; None when no link has sound. Tracks are brought to the first track's
    rate and the most channels any has."""
    tracks = [read_audio(video) for video in videos]
    present = [track for track in tracks if track is not None]
    if not present:
        return None
    rate, channels = present[0].sample_rate, max(track.channels for track in present)
    pieces = []
    for index, (track, count) in enumerate(zip(tracks, frames, strict=True)):
        length = round(count / fps * rate)
        if track is None:
            samples = np.zeros((channels, length), dtype=np.float32)
        else:
            samples = _at_rate(track, rate).fitted(count / fps).samples
            samples = np.repeat(samples, channels // samples.shape[0], axis=0)  # mono into stereo
        pieces.append(samples[:, round(rate / fps):] if index > 0 else samples)
    return AudioTrack(np.concatenate(pieces, axis=1), rate)


def _at_rate(track: AudioTrack, rate: int) -> AudioTrack:
    """The track resampled to `rate` (linear interpolation: links of one chain share a model, so this
    is for the odd link made by another)."""
    if track.sample_rate == rate:
        return track
    length = max(1, round(track.seconds * rate))
    where = np.linspace(0, track.samples.shape[1] - 1, length)
    return AudioTrack(np.stack([np.interp(where, np.arange(track.samples.shape[1]), channel)
                                for channel in track.samples]), rate)
