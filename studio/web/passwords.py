"""Passwords: the scrypt hash `launch.py set-password` stores, and where the launcher finds it.

Standard library only: the launcher reads these on its way to starting the server, which should
not wait for the web framework to import. The gate that checks logins is auth.py, in the server.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets

PASSWORD_HASH_ENV = "STUDIO_PASSWORD_HASH"
PASSWORD_ENV = "STUDIO_PASSWORD"
SETTING_KEY = "server_password_hash"
MIN_PASSWORD_LENGTH = 8

# scrypt cost: 2**14 x 8 takes ~16 MB and tens of milliseconds: cheap to check, dear to brute-force.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A self-describing hash: `scrypt$n$r$p$salt_hex$digest_hex`. ValueError for a password
    shorter than MIN_PASSWORD_LENGTH, with a message fit to show as it is."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(digest_hex)
        digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r), p=int(p),
                                dklen=len(expected), maxmem=256 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, expected)


def is_loopback(host: str) -> bool:
    """Whether binding to `host` keeps the server on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def stored_password_hash(sessions) -> str | None:
    """The hash saved by `launch.py set-password`, if any (sessions: a sessionmaker)."""
    from studio.db import settings as settings_rows
    from studio.db.engine import session_scope

    with session_scope(sessions) as session:
        value = settings_rows.get_setting_value(session, SETTING_KEY)
    return value or None


def save_password_hash(sessions, password_hash: str) -> None:
    from studio.db import settings as settings_rows
    from studio.db.engine import session_scope

    with session_scope(sessions) as session:
        settings_rows.set_setting_value(session, SETTING_KEY, password_hash)
