"""A sound track as the encoder takes it: samples and their rate, nothing else.

Models that make sound (LTX-2) hand back a float waveform; the engine turns it into an AudioTrack
and the worker passes it to write_mp4, which muxes it as AAC beside the video.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AudioTrack:
    samples: np.ndarray  # (channels, samples) float32, nominally in [-1, 1]
    sample_rate: int

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples, dtype=np.float32)
        if samples.ndim == 1:
            samples = samples[None, :]
        if samples.ndim != 2 or samples.shape[0] not in (1, 2) or samples.shape[1] == 0:
            raise ValueError(f"Audio must be (channels, samples) with 1 or 2 channels; got {np.shape(self.samples)}.")
        if not 1000 <= int(self.sample_rate) <= 192000:
            raise ValueError(f"Audio sample rate must be between 1000 and 192000 Hz; got {self.sample_rate}.")
        # Clipped here rather than by the AAC encoder, which would wrap a stray overshoot.
        object.__setattr__(self, "samples", np.ascontiguousarray(np.clip(np.nan_to_num(samples), -1.0, 1.0)))
        object.__setattr__(self, "sample_rate", int(self.sample_rate))

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def seconds(self) -> float:
        return self.samples.shape[1] / self.sample_rate

    def fitted(self, seconds: float) -> AudioTrack:
        """This track cut or padded with silence to `seconds`, so sound and picture end together."""
        wanted = max(1, round(seconds * self.sample_rate))
        have = self.samples.shape[1]
        if wanted == have:
            return self
        if wanted < have:
            return AudioTrack(self.samples[:, :wanted], self.sample_rate)
        return AudioTrack(np.pad(self.samples, ((0, 0), (0, wanted - have))), self.sample_rate)

    def interleaved_bytes(self) -> bytes:
        """Little-endian float32, channels interleaved: ffmpeg's f32le input."""
        return self.samples.T.astype("<f4").tobytes()


def audio_manifest(track: AudioTrack | None) -> dict[str, dict[str, object]]:
    """What a run's manifest records about its sound: nothing for a silent video (most models)."""
    if track is None:
        return {}
    return {"audio": {"written": True, "codec": "aac", "sample_rate": track.sample_rate,
                      "channels": track.channels, "seconds": round(track.seconds, 3)}}
