"""Extending a run into a chain: the next link starts from the last frame of the run it extends, with
that run's engine and parameters unless the user changes them; the whole chain exports as one video.

Rows are read and written through studio.db (chains, runs, images); the frame comes out of the
source's MP4 (studio.media.frames) and the joined video is made by studio.post.stitch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image as PILImage
from sqlalchemy.orm import Session, sessionmaker

from studio.db import runs as run_rows
from studio.db.chains import chain_of, links_between
from studio.db.models import Run
from studio.db.engine import session_scope
from studio.db.images import get_or_add_image
from studio.engines.base import InputError
from studio.engines.keyframes import END_IMAGE
from studio.jobs.status import RunStatus
from studio.storage import Storage

# The framing move starts from the whole picture in a continuation: its picture *is* the frame the
# previous link ended on, so any other start box would jump at the seam.
WHOLE_PICTURE = {"start_x": 0.0, "start_y": 0.0, "start_width": 1.0}


@dataclass(frozen=True)
class ExtensionStart:
    """What a continuation of `source_id` starts from: its last frame (stored as an input image)
    and the parameters it is made with by default."""

    source_id: int
    engine: str
    params: dict[str, Any]
    image: PILImage.Image
    image_id: int
    image_path: str


def extension_params(source_params: Mapping[str, Any]) -> dict[str, Any]:
    """A continuation's default parameters: the source's, less its end image (the continuation
    starts near it already), with a framing move starting from the whole picture."""
    params = {k: v for k, v in source_params.items() if k != END_IMAGE}
    if params.get("motion") == "framing":
        params.update(WHOLE_PICTURE)
    return params


def extension_start(sessions: sessionmaker[Session], storage: Storage, run_id: int) -> ExtensionStart:
    """The last frame of a finished run, stored by content hash like any input, and its parameters.
    InputError (param "extend") when the run cannot be extended, saying why."""
    from studio.media.encode import EncodeError
    from studio.media.frames import last_frame

    with session_scope(sessions) as session:
        source = run_rows.get_run(session, run_id)
        if source is None:
            raise InputError("extend", f"Run #{run_id} does not exist.")
        if source.status != RunStatus.SUCCEEDED or not source.video_path:
            raise InputError("extend", f"Run #{run_id} is {source.status}: only a finished run with a video can be extended.")
        engine, params, video = source.engine, dict(source.params), Path(source.video_path)
    if "source_run" in params:  # only a post run (smooth, upscale, loop) names a source run
        raise InputError("extend", f"Run #{run_id} was made from run #{params['source_run']} by {engine}: extend "
                                   "the run it was made from, then smooth or upscale the chain.")
    try:
        frame = last_frame(video)
    except (EncodeError, FileNotFoundError):
        raise InputError("extend", f"The video of run #{run_id} cannot be read ({video}), so it cannot be extended.") from None
    sha, path = storage.save_input(frame)
    with session_scope(sessions) as session:
        image_id = get_or_add_image(session, sha256=sha, path=str(path), width=frame.width, height=frame.height,
                                    size_bytes=path.stat().st_size, original_name=f"last frame of run #{run_id}").id
    return ExtensionStart(source_id=run_id, engine=engine, params=extension_params(params), image=frame,
                          image_id=image_id, image_path=str(path))


def unfinished_link(links: Sequence[Run]) -> Run | None:
    """The first link that has no video to join yet: not succeeded, or its file is gone."""
    return next((link for link in links if link.status != RunStatus.SUCCEEDED or not link.video_path
                 or not Path(link.video_path).is_file()), None)


def export_chain(sessions: sessionmaker[Session], outputs_dir: Path, run_id: int) -> Path:
    """The chain through this run as one MP4 in the outputs' chains/ folder; InputError (param
    "chain") naming the link that has no video yet."""
    with session_scope(sessions) as session:
        links = chain_of(session, run_id)
        if not links:
            raise InputError("chain", f"Run #{run_id} does not exist.")
        if (waiting := unfinished_link(links)) is not None:
            raise InputError("chain", f"Run #{waiting.id} of the chain is {waiting.status} and has no video yet: "
                                      "export the chain once every link has finished.")
        videos, fps = [Path(link.video_path) for link in links], int(links[0].fps or 24)
        name = f"chain-{links[0].id:06d}-{links[-1].id:06d}-{datetime.now():%Y%m%d-%H%M%S}.mp4"
    return _stitched(videos, fps, outputs_dir / "chains" / name)


def joined_source(session: Session, first_id: int, last_id: int) -> tuple[list[Path], int]:
    """The videos of the chain from run `first_id` to run `last_id` that a post run works on, first
    first, and the chain's frame rate; InputError (param "chain_from") when the chain is broken or
    unfinished."""
    links = links_between(session, first_id, last_id)
    if len(links) < 2:
        raise InputError("chain_from", f"Run #{last_id} does not continue run #{first_id}: there is no chain to join.")
    if (waiting := unfinished_link(links)) is not None:
        raise InputError("chain_from", f"Run #{waiting.id} of the chain has no video (deleted, or it did not finish).")
    return [Path(link.video_path) for link in links], int(links[0].fps or 24)


def post_source(session: Session, params: Mapping[str, Any]) -> tuple[list[Path], int]:
    """A post-processing run's source: the video of the run it names, or the videos of the extend
    chain from `chain_from` to it, and their frame rate; InputError when it is gone. Asked when the
    run is made, and before a re-run of it is queued."""
    if params.get("chain_from"):
        return joined_source(session, int(params["chain_from"]), int(params["source_run"]))
    source = run_rows.get_run(session, int(params["source_run"]))
    if source is None or not source.video_path:
        raise InputError("source_run", f"The source run #{params['source_run']} has no video (deleted, or it did not "
                                       "finish).")
    return [Path(source.video_path)], int(source.fps or 24)


def join_for_post(videos: list[Path], fps: int, outputs_dir: Path, run_id: int) -> Path:
    """The chain's videos as one MP4 for post run `run_id` to read (in the outputs' chains/ folder,
    written atomically; its name says which run it was joined for). The worker deletes it once the
    run has ended: the run's own video is what is kept."""
    return _stitched(videos, fps, outputs_dir / "chains" / f"chain-for-run-{run_id:06d}.mp4")


def _stitched(videos: list[Path], fps: int, destination: Path) -> Path:
    from studio.post.stitch import stitch_chain

    destination.parent.mkdir(parents=True, exist_ok=True)
    stitch_chain(videos, destination, fps=fps)
    return destination
