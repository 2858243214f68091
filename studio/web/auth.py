"""Password gate for the server when it listens beyond this machine (see launch.py --host)."""

from __future__ import annotations


def password_middleware() -> list:
    """Starlette middleware list for st.App; empty when no password is configured."""
    return []
