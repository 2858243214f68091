"""Run a coroutine to completion from a test, whatever else runs in the test process.

Playwright's sync API (the browser tests) leaves an event loop running in pytest's main thread for
the rest of the session, and asyncio.run refuses to start inside it; a thread of its own always
gets a fresh loop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_async(coroutine: Coroutine[Any, Any, T], timeout: float = 120) -> T:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-asyncio") as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=timeout)
