"""Login sessions kept on the server, so that logging out ends one for good.

The cookie carries only a random session id, signed with itsdangerous under a key drawn when the
server starts; the session itself lives in this store, in memory. Logging out deletes it, so a
copied cookie is worthless afterwards. Each session also records a digest of the password hash it
was issued under and is refused once the gate's hash differs: a session never outlives the
password that opened it. (The server is handed the hash at start, so `launch.py set-password`
takes effect at the next start, and a restart already ends every session: new key, empty store.)
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from itsdangerous import BadData, URLSafeTimedSerializer

SESSION_SECONDS = 12 * 3600
MAX_SESSIONS = 10_000  # bounds memory; past it the oldest session is dropped
_SALT = "studio-session"


def hash_digest(password_hash: str) -> str:
    """What a session remembers of the hash it was issued under (never the hash itself)."""
    return hashlib.sha256(password_hash.encode()).hexdigest()


class SessionStore:
    def __init__(self, *, secret: bytes | None = None, lifetime_s: int = SESSION_SECONDS,
                 max_sessions: int = MAX_SESSIONS, clock: Callable[[], float] = time.time):
        self._signer = URLSafeTimedSerializer(secret or secrets.token_bytes(32), salt=_SALT)
        self.lifetime_s = lifetime_s
        self._max = max_sessions
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, tuple[float, str]] = OrderedDict()  # id -> (issued, hash digest)

    def issue(self, password_hash: str) -> str:
        """A new session; returns the signed token for the cookie."""
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._forget_expired(now)
            while len(self._sessions) >= self._max:
                self._sessions.popitem(last=False)
            self._sessions[session_id] = (now, hash_digest(password_hash))
        return self._signer.dumps(session_id)

    def valid(self, token: str | None, password_hash: str) -> bool:
        session_id = self._session_id(token)
        if session_id is None:
            return False
        with self._lock:
            entry = self._sessions.get(session_id)
        if entry is None:
            return False
        issued, digest = entry
        return 0 <= self._clock() - issued <= self.lifetime_s and secrets.compare_digest(
            digest, hash_digest(password_hash))

    def revoke(self, token: str | None) -> None:
        session_id = self._session_id(token)
        if session_id is not None:
            with self._lock:
                self._sessions.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._sessions)

    def _session_id(self, token: str | None) -> str | None:
        if not token:
            return None
        try:
            # The signature's own age check is a second guard beside the store's issue time.
            value = self._signer.loads(token, max_age=self.lifetime_s)
        except (BadData, UnicodeError):  # forged, expired, truncated or not even text
            return None
        return value if isinstance(value, str) else None

    def _forget_expired(self, now: float) -> None:
        # Oldest first, so the scan stops at the first session still alive.
        while self._sessions:
            session_id, (issued, _digest) = next(iter(self._sessions.items()))
            if now - issued <= self.lifetime_s:
                break
            del self._sessions[session_id]
