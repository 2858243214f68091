"""Post-processing runs made from finished runs: the child a succeeded run asked for (queued by the
worker in the same transaction that records the success, so a crash never leaves one without the
other), and the one a person asks for on a run's page, of the run or of its whole extend chain."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from studio.db import runs as run_rows
from studio.db.chains import chain_of
from studio.db.models import Run
from studio.engines.base import InputError
from studio.engines.registry import Registry
from studio.jobs.chains import unfinished_link
from studio.jobs.status import RunStatus
from studio.jobs.wakeup import notify_queued
from studio.post.base import joined_clip
from studio.post.steps import child_params, next_step
from studio.requests import REQUEST_VERSION, GenerationRequest, validate


@dataclass(frozen=True)
class Child:
    """A post run to queue once its source run has succeeded."""

    source_id: int
    input_image_id: int | None
    request: GenerationRequest


def planned_child(registry: Registry, run: Run, params: Mapping[str, Any]) -> Child | None:
    """The child run `run` asks for next (its stored `params` name the post-processing), checked."""
    tools = {tool.info.id: tool for tool in registry.tools()}
    step = next_step(run.id, params, tools)  # type: ignore[arg-type]
    if step is None:
        return None
    engine_id, child = step
    return Child(run.id, run.input_image_id, validate(registry, engine_id, child))


def add_child(session: Session, child: Child) -> int:
    request = child.request
    row = run_rows.add_run(session, engine=request.engine, model_id=request.model_id, params=request.stored_params(),
                           input_image_id=child.input_image_id, parent_id=child.source_id,
                           request_version=REQUEST_VERSION, request_digest=request.fingerprint())
    notify_queued(session)  # as Queue.submit: idle workers on other hosts wake at the commit
    return row.id


def post_process(session: Session, registry: Registry, run_id: int, engine_id: str, options: Mapping[str, Any],
                 *, whole_chain: bool = False) -> Child:
    """The child run of a finished run made with one tool and its options (a run page's button).
    With `whole_chain`, the tool works on the extend chain through the run joined into one video:
    the child is linked to the chain's last link and names its first (`chain_from`), and starts
    from the chain's first input image."""
    if not registry.is_tool(engine_id):
        raise InputError("engine", f"{engine_id!r} is not a post-processing tool; the tools are "
                                   f"{', '.join(t.info.id for t in registry.tools())}.")
    source = run_rows.get_run(session, run_id)
    if source is None:
        raise InputError("run", f"Run {run_id} does not exist.")
    tool = registry.get(engine_id)
    if whole_chain:
        links = chain_of(session, run_id)
        if len(links) < 2:
            raise InputError("run", f"Run {run_id} is not part of an extend chain: make it from the run alone.")
        if (waiting := unfinished_link(links)) is not None:
            raise InputError("run", f"Run #{waiting.id} of the chain is {waiting.status}: the whole chain can be "
                                    "post-processed once every link has finished.")
        first, last = links[0], links[-1]
        params = child_params(tool, last.id, last.params, options, {},  # type: ignore[arg-type]
                              source=joined_clip([link.params for link in links]), chain_from=first.id)
        return Child(last.id, first.input_image_id, validate(registry, engine_id, params))
    if source.status != RunStatus.SUCCEEDED or not source.video_path:
        raise InputError("run", f"Run {run_id} is {source.status}: only a finished video can be post-processed.")
    params = child_params(tool, run_id, source.params, options, {})  # type: ignore[arg-type]
    return Child(run_id, source.input_image_id, validate(registry, engine_id, params))
