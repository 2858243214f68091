"""Submitting, cancelling and re-running jobs. The queue is the runs table: a submitted run is a row
with status queued, and the worker (in this process or another) claims it from there (see
studio.jobs.store for the queue's statements)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from PIL import Image as PILImage
from sqlalchemy.orm import Session, sessionmaker

from studio.db import runs as run_rows
from studio.db.engine import DatabaseBusy, session_scope, write_transaction
from studio.db.images import get_or_add_image, image_by_sha256
from studio.engines.base import InputError
from studio.engines.keyframes import END_IMAGE
from studio.engines.registry import Registry
from studio.jobs import chains, followups
from studio.jobs import store as queue_store
from studio.jobs.wakeup import notify_queued
from studio.requests import REQUEST_VERSION, GenerationRequest, known_keys, validate
from studio.storage import Storage, image_digest
from studio.sweeps import Axis, expand

__all__ = ["DatabaseBusy", "JobQueue", "SubmitRequest"]  # DatabaseBusy: what the pages catch from submit


@dataclass
class SubmitRequest:
    engine: str
    params: Mapping[str, Any]
    image: PILImage.Image | None = None  # an intake-normalised RGB image (studio.media.images)
    image_id: int | None = None  # or an image already in the history (re-runs)
    image_name: str = ""
    parent_id: int | None = None
    sweep_id: int | None = None
    # The request a preview or a planned sweep already built from these params: queued as it is.
    validated: GenerationRequest | None = None
    # Keyframes and extend chains: a new end image to store (its sha256 is the request's end_image;
    # an end image already in the history is found by that sha256 alone), and the run this extends.
    end_image: PILImage.Image | None = None
    continues_id: int | None = None


class JobQueue:
    def __init__(self, session_factory: sessionmaker[Session], registry: Registry, storage: Storage,
                 on_submit: Callable[[], None] | None = None):
        self._sessions = session_factory
        self._registry = registry
        self._storage = storage
        # Wakes the in-process worker at once instead of at its next poll.
        self._on_submit = on_submit or (lambda: None)

    def validate(self, engine_id: str, params: Mapping[str, Any]) -> GenerationRequest:
        """Build the request without queueing it (the form previews as the user types); hand it to
        submit as SubmitRequest.validated to queue exactly what was previewed."""
        return validate(self._registry, engine_id, params)

    def submit(self, request: SubmitRequest) -> int:
        return self.submit_many([request])[0]

    def submit_many(self, requests: Sequence[SubmitRequest], *, sweep: dict[str, Any] | None = None) -> list[int]:
        """Validate every request first, then queue them all in one transaction (all or nothing)."""
        requests = [with_end_image(r) for r in requests]
        validated = [r.validated or validate(self._registry, r.engine, r.params) for r in requests]
        for r, v in zip(requests, validated, strict=True):
            if self._registry.is_tool(v.engine) and r.parent_id is None:
                raise InputError("engine", f"{v.engine} makes a new video from a finished run: use it on the run "
                                           "(its page, or --interpolate, --upscale, --pingpong with the run).")
        stored_images: dict[int, tuple[str, Any]] = {}  # by id() of the image: a sweep stores its input once
        for r in requests:
            if r.image is None and r.image_id is None:
                raise InputError("image", "Choose an input image: upload one or pick a sample.")
            for image in (r.image, r.end_image):
                if image is not None and id(image) not in stored_images:
                    stored_images[id(image)] = self._storage.save_input(image)

        def queue_rows(session: Session) -> list[int]:
            # Runs once per attempt (write_transaction retries it whole while the database is locked).
            run_ids: list[int] = []
            sweep_id = None
            if sweep is not None:
                sweep_id = run_rows.add_sweep(session, **sweep).id
            for r, v in zip(requests, validated, strict=True):
                image_id = r.image_id
                if r.image is not None:
                    sha, path = stored_images[id(r.image)]
                    image_id = get_or_add_image(
                        session, sha256=sha, path=str(path), width=r.image.width, height=r.image.height,
                        size_bytes=path.stat().st_size, original_name=r.image_name,
                    ).id
                run = run_rows.add_run(session, engine=v.engine, model_id=v.model_id, params=v.stored_params(),
                                       input_image_id=image_id, parent_id=r.parent_id,
                                       sweep_id=r.sweep_id if r.sweep_id is not None else sweep_id,
                                       request_version=REQUEST_VERSION, request_digest=v.fingerprint(),
                                       end_image_id=self._end_image_id(session, r, v, stored_images),
                                       continues_id=r.continues_id)
                run_ids.append(run.id)
            notify_queued(session)  # idle workers on other hosts wake at the commit, not at their next poll
            return run_ids

        # Bounded: under another program's write lock the user hears "busy, not queued" (DatabaseBusy)
        # within seconds, with nothing written, instead of a hang and a traceback.
        run_ids = write_transaction(self._sessions, queue_rows)
        self._on_submit()
        return run_ids

    @staticmethod
    def _end_image_id(session: Session, r: SubmitRequest, v: GenerationRequest,
                      stored: dict[int, tuple[str, Any]]) -> int | None:
        """The images row of the request's end image: the new one just stored, or the one the
        history holds under its sha256 (a re-run, a restored recipe)."""
        sha = v.params.get(END_IMAGE)
        if not sha:
            return None
        if r.end_image is not None:
            _, path = stored[id(r.end_image)]
            return get_or_add_image(session, sha256=sha, path=str(path), width=r.end_image.width,
                                    height=r.end_image.height, size_bytes=path.stat().st_size,
                                    original_name="end image").id
        row = image_by_sha256(session, sha)
        if row is None:
            raise InputError(END_IMAGE, "The end image is not in this studio's history any more: choose it again.")
        return row.id

    def plan_sweep(self, engine_id: str, base_params: Mapping[str, Any], axes: Sequence[Axis]) -> list[SubmitRequest]:
        """The validated requests a sweep would queue (the page shows the count before queueing).
        On an "engine" axis each engine keeps only the parameters it has; the rest take its defaults."""
        requests = []
        for params in expand(base_params, axes):  # one seed for all of them (drawn there if unset)
            engine = str(params.pop("engine", engine_id))
            known = known_keys(self._registry.get(engine))
            params = {k: v for k, v in params.items() if k in known}
            requests.append(SubmitRequest(engine=engine, params=params,
                                          validated=validate(self._registry, engine, params)))
        return requests

    def submit_sweep(self, engine_id: str, base_params: Mapping[str, Any], axes: Sequence[Axis], *,
                     image: PILImage.Image | None = None, image_id: int | None = None, image_name: str = "",
                     end_image: PILImage.Image | None = None) -> list[int]:
        """Queue every combination as one sweep (all or nothing)."""
        planned = self.plan_sweep(engine_id, base_params, axes)
        planned = [replace(r, image=image, image_id=image_id, image_name=image_name, end_image=end_image) for r in planned]
        name = " × ".join(f"{a.param} {', '.join(map(str, a.values))}" for a in axes)
        varied = {a.param for a in axes}
        base = {"engine": engine_id, **{k: v for k, v in planned[0].params.items() if k not in varied}}
        return self.submit_many(planned, sweep={"name": name, "base_params": base, "axes": [a.as_json() for a in axes]})

    def post_process(self, run_id: int, engine_id: str, options: Mapping[str, Any] | None = None, *,
                     whole_chain: bool = False) -> int:
        """A child run making a new video of a finished run with a post-processing tool (studio.post):
        smooth, upscale or pingpong; with `whole_chain`, of the extend chain through the run joined
        into one video (the child's parent is then the chain's last link)."""
        with session_scope(self._sessions) as session:
            child = followups.post_process(session, self._registry, run_id, engine_id, options or {},
                                           whole_chain=whole_chain)
        return self.submit(SubmitRequest(engine=engine_id, params=child.request.stored_params(),
                                         image_id=child.input_image_id, parent_id=child.source_id,
                                         validated=child.request))

    def cancel(self, run_id: int) -> str | None:
        with session_scope(self._sessions) as session:
            return queue_store.request_cancel(session, run_id)

    def rerun(self, run_id: int, *, new_seed: bool = False, overrides: Mapping[str, Any] | None = None) -> int:
        """A new run with the same input and parameters, linked to its parent. `new_seed` draws a
        fresh seed; `overrides` changes named parameters (e.g. a lower memory mode after an OOM)."""
        with session_scope(self._sessions) as session:
            parent = run_rows.get_run(session, run_id)
            if parent is None:
                raise InputError("run", f"Run {run_id} does not exist.")
            params = dict(parent.params)
            engine, image_id, continues_id = parent.engine, parent.input_image_id, parent.continues_id
            # A post run is made again from its source's video: refused now if that is gone, rather
            # than queued to fail at its first step. (One that names no source, imported without
            # it, is refused by its engine's own check.)
            if (engine in self._registry and self._registry.is_tool(engine)
                    and params.get("source_run") not in (None, "")):
                chains.post_source(session, params)
        if new_seed:
            params["seed"] = None
        params.update(overrides or {})
        # A re-run of a chain's link continues the same run: it re-makes that link only.
        return self.submit(SubmitRequest(engine=engine, params=params, image_id=image_id, parent_id=run_id,
                                         continues_id=continues_id))


def with_end_image(request: SubmitRequest) -> SubmitRequest:
    """A request with a new end image names it by its digest in the params (so it is checked,
    stored and fingerprinted with the rest); a preview built without that name is built again."""
    if request.end_image is None:
        return request
    sha = image_digest(request.end_image)
    if request.params.get(END_IMAGE) == sha and (request.validated is None or request.validated.params.get(END_IMAGE) == sha):
        return request
    return replace(request, params={**request.params, END_IMAGE: sha}, validated=None)
