"""Failed-login throttling per client: a few free tries, then an exponentially growing wait.

Counted by peer address. Behind a reverse proxy every visitor shares the proxy's address, so they
share one budget too; the studio does not trust forwarded-for headers, which anyone can forge.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

FREE_FAILURES = 5  # wrong passwords allowed before the first wait
FIRST_WAIT_S = 2.0  # the wait after the FREE_FAILURES-th failure; doubles with each one after
MAX_WAIT_S = 15 * 60.0
MAX_CLIENTS = 10_000  # bounds memory; past it the client heard from least recently is forgotten
FORGET_AFTER_S = 24 * 3600.0  # a client quiet this long starts afresh


class LoginThrottle:
    def __init__(self, *, free_failures: int = FREE_FAILURES, first_wait_s: float = FIRST_WAIT_S,
                 max_wait_s: float = MAX_WAIT_S, max_clients: int = MAX_CLIENTS,
                 clock: Callable[[], float] = time.monotonic):
        self.free_failures = free_failures
        self.first_wait_s = first_wait_s
        self.max_wait_s = max_wait_s
        self._max_clients = max_clients
        self._clock = clock
        self._lock = threading.Lock()
        self._clients: OrderedDict[str, tuple[int, float]] = OrderedDict()  # client -> (failures, last)

    def begin_attempt(self, client: str) -> int:
        """0 when `client` may try a password now, else the seconds it must wait.

        An attempt counts as a failure from the moment it starts (`succeeded` clears the count), so
        a burst of parallel guesses cannot all slip in before the first one is judged."""
        now = self._clock()
        with self._lock:
            failures, last = self._clients.get(client, (0, now))
            if now - last > FORGET_AFTER_S:
                failures = 0
            wait = self._wait_after(failures) - (now - last)
            if wait > 0:
                return max(1, math.ceil(wait))
            self._clients[client] = (failures + 1, now)
            self._clients.move_to_end(client)
            while len(self._clients) > self._max_clients:
                self._clients.popitem(last=False)
        return 0

    def failed(self, client: str) -> None:
        """The attempt was wrong: its wait starts now, once the password has been checked."""
        with self._lock:
            if client in self._clients:
                failures, _ = self._clients[client]
                self._clients[client] = (failures, self._clock())

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._clients.pop(client, None)

    def __len__(self) -> int:
        return len(self._clients)

    def _wait_after(self, failures: int) -> float:
        if failures < self.free_failures:
            return 0.0
        return min(self.max_wait_s, self.first_wait_s * 2 ** min(failures - self.free_failures, 32))
