"""Request bodies read with a bound: an ASGI `receive` that gives up once the body passes a limit,
so a login form or an upload is never buffered whole whatever its size."""

from __future__ import annotations


class BodyTooLarge(Exception):
    """The body passed its limit; nothing of it should be used."""


def limited(receive, limit: int):
    """`receive` that raises BodyTooLarge once more than `limit` bytes of body have arrived."""
    seen = 0

    async def bounded():
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(f"body over {limit} bytes")
        return message

    return bounded
