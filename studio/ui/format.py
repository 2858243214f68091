"""Small formatting helpers shared by the pages."""

from __future__ import annotations

from datetime import datetime, timezone

from studio.jobs.status import RunStatus

STATUS_COLORS = {
    RunStatus.QUEUED: "gray", RunStatus.RUNNING: "blue", RunStatus.SUCCEEDED: "green", RunStatus.FAILED: "red",
    RunStatus.CANCELED: "orange", RunStatus.INTERRUPTED: "violet",
}
STATUS_ICONS = {
    RunStatus.QUEUED: ":material/schedule:", RunStatus.RUNNING: ":material/autorenew:",
    RunStatus.SUCCEEDED: ":material/check_circle:", RunStatus.FAILED: ":material/error:",
    RunStatus.CANCELED: ":material/cancel:", RunStatus.INTERRUPTED: ":material/pause_circle:",
}


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def size(num_bytes: float | None) -> str:
    if num_bytes is None:
        return "–"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(num_bytes) < 1024 or unit == "TB":
            return f"{num_bytes:.0f} {unit}" if unit == "B" else f"{num_bytes:.1f} {unit}"
        num_bytes /= 1024
    return f"{num_bytes:.1f} TB"


def when(moment: datetime | None) -> str:
    """A stored (naive UTC) timestamp in the viewer's local time."""
    if moment is None:
        return "–"
    return moment.replace(tzinfo=timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def excerpt(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Pictures and videos are shown at most this tall (CSS pixels): a panorama stood on end (96x1920)
# would otherwise push everything under it thousands of pixels down the page.
MAX_SHOWN_HEIGHT = 540


def shown_width(width: int | None, height: int | None, default: str = "content") -> int | str:
    """The width to give st.image / st.video so that a picture or video of this size is at most
    MAX_SHOWN_HEIGHT tall; `default` when it cannot be taller (or its size is unknown). Shown
    narrower, a tall picture keeps its shape: Streamlit scales both sides together."""
    if not width or not height:
        return default
    capped = max(1, int(MAX_SHOWN_HEIGHT * width / height))
    if default == "content":  # shown at its own size at most: only a taller picture needs a cap
        return capped if height > MAX_SHOWN_HEIGHT else default
    return capped if capped < 1200 else default  # "stretch": as wide as the column, up to a page
