"""Which engines exist. Built once by the composition root; pages, the queue, the worker and the
CLI all look engines up here. Importing this module must stay light (no torch/diffusers)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from studio.config import Paths, Settings
from studio.engines.base import Engine, EngineInfo, InputError, WeightsStatus
from studio.engines.diffusion import diffusion_engines
from studio.engines.motion import MotionEngine
from studio.post.steps import post_engines


class Registry:
    def __init__(self, engines: Iterable[Engine], tools: Iterable[Engine] = ()):
        self._engines: dict[str, Engine] = {}
        # Post-processing tools (studio.post) run like engines but make videos from runs, not
        # images: looked up like any engine, left out of the lists of engines to generate with.
        self._tool_ids = {tool.info.id for tool in tools}
        for engine in [*engines, *tools]:
            if engine.info.id in self._engines:
                raise ValueError(f"duplicate engine id {engine.info.id!r}")
            self._engines[engine.info.id] = engine

    def get(self, engine_id: str) -> Engine:
        try:
            return self._engines[engine_id]
        except KeyError:
            # The engines a person can pick: the developer-only test engines and the post-processing
            # tools are not named (a message listed all 31 ids, tiny test engines among them).
            known = ", ".join(e.info.id for e in self.engines(include_developer=False))
            raise InputError("engine", f"Unknown engine {engine_id!r}. Known engines: {known}.") from None

    def __contains__(self, engine_id: object) -> bool:
        return engine_id in self._engines

    def engines(self, *, include_developer: bool = True) -> list[Engine]:
        return [e for e in self._engines.values()
                if (include_developer or not e.info.developer_only) and e.info.id not in self._tool_ids]

    def tools(self) -> list[Engine]:
        return [e for e in self._engines.values() if e.info.id in self._tool_ids]

    def is_tool(self, engine_id: str) -> bool:
        return engine_id in self._tool_ids

    def infos(self, *, include_developer: bool = True) -> list[EngineInfo]:
        return [e.info for e in self.engines(include_developer=include_developer)]

    def status(self, engine_id: str) -> WeightsStatus:
        return self.get(engine_id).weights_status()

    def default_engine_id(self, settings: Settings,
                          status: Callable[[str], WeightsStatus] | None = None) -> str:
        """The user's choice when it is usable; else the first installed diffusion model; else motion.
        `status` answers the weights question (the studio passes its cached check); by default each
        engine is asked."""
        status = status or self.status
        if settings.default_engine in self._engines and status(settings.default_engine).ready:
            return settings.default_engine
        for engine in self.engines(include_developer=settings.developer_mode):
            if engine.info.needs_weights and status(engine.info.id).ready:
                return engine.info.id
        return "motion"


def build_registry(settings: Settings | Callable[[], Settings], paths: Paths) -> Registry:
    """Every engine the studio knows, built-in first. Diffusion engines are cheap to construct:
    they load nothing until their first job."""
    return Registry([MotionEngine(), *diffusion_engines(settings, paths)], tools=post_engines())
