"""The status of a run, and the groups of statuses the queue and the history decide on.

A StrEnum: members are the strings stored in runs.status, so rows read back as plain strings compare
equal to the members, and code that still holds a literal keeps working. This module imports nothing
from the studio, so the ORM model can take its default from here.
"""

from __future__ import annotations

from enum import StrEnum, nonmember


class RunStatus(StrEnum):
    QUEUED = "queued"  # waiting for a worker
    RUNNING = "running"  # claimed by a worker, which sends heartbeats
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    INTERRUPTED = "interrupted"  # the studio stopped mid-run; it returns to the queue at the next start

    # Groups are tuples (ordered, so the SQL they feed is the same every time) of the stored values.
    # In the queue: the worker still owes these an outcome. They cannot be trashed or exported.
    ACTIVE = nonmember((QUEUED, RUNNING))
    # Done for good: nothing will change them but a re-run.
    FINISHED = nonmember((SUCCEEDED, FAILED, CANCELED))
    # Held by a worker that may have died: recovery looks at these.
    RECOVERABLE = nonmember((RUNNING, INTERRUPTED))


class RunStage(StrEnum):
    """What a running run is doing now, stored in runs.stage so every page can say it. In order; a
    run may skip one (the camera-motion engine loads nothing)."""

    LOADING = "loading"  # the engine loads its model (weights to memory, to the GPU)
    RENDERING = "rendering"  # the denoising steps, or drawing the frames
    ENCODING = "encoding"  # the frames into the MP4 (overlapping rendering when the engine streams)
    SAVING = "saving"  # poster, thumbnail, sidecar and anything else made from the video


# What request_cancel answers for a running run: a flag the worker sees within a step, not a status.
CANCELING = "canceling"
