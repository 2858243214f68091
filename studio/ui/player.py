"""The synced player: several run videos in a grid driven by ONE set of controls (play/pause, frame
steps, a scrub bar), so that the same moment of every video is on screen at once.

It is plain HTML and JavaScript rendered by st.html (not iframed, so the page's own tests and
stylesheet reach it). The <video> elements load the run files from the studio's media routes
(studio.web.media), which answer range requests, so seeking works.

How sync works: the longest video leads. Play, pause, seeks and frame steps are applied to all. While
playing, every animation frame (and every 'timeupdate' of the leader) compares each follower with the
leader: a small drift is absorbed by nudging that video's playbackRate, a large one by seeking. A video
shorter than the leader stops on its last frame until the leader loops, as in the exported MP4.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PlayerCell:
    label: str
    run_id: int | None = None
    video_url: str | None = None  # None: the cell shows `note` instead of a video
    note: str = ""
    aspect: float = 1.0  # width / height, so the grid keeps its shape before the videos load
    width: int | None = None  # the video's own width in pixels


# Videos are not blown up past their own size (or this, for small ones) on wide screens.
MIN_CELL_WIDTH = 384
GAP_PX = 8


_CSS = """
<style>
.sync-player { --sync-fg: rgba(250,250,250,0.92); --sync-dim: rgba(250,250,250,0.55); color: var(--sync-fg); }
.sync-player .sync-grid { display: grid; gap: 8px; margin: 0 auto; }
.sync-player figure { margin: 0; min-width: 0; }
.sync-player figcaption { font-size: 0.85rem; padding: 2px 0 4px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.sync-player video, .sync-player .sync-missing { width: 100%; display: block; background: #000; border-radius: 4px; }
.sync-player .sync-missing { display: flex; align-items: center; justify-content: center; color: var(--sync-dim); font-size: 0.9rem; }
.sync-player .sync-controls { display: flex; align-items: center; gap: 8px; margin-top: 10px; flex-wrap: wrap; }
.sync-player button { padding: 0 10px; background: rgba(250,250,250,0.08); color: var(--sync-fg); border: 1px solid rgba(250,250,250,0.2);
  border-radius: 6px; min-width: 2.6rem; height: 2.2rem; font-size: 1rem; cursor: pointer; }
.sync-player button:hover { border-color: #ff6b4a; }
.sync-player button#sync-play { min-width: 5.5rem; font-weight: 600; }
.sync-player input[type=range] { flex: 1 1 200px; accent-color: #ff6b4a; }
.sync-player .sync-time { font-variant-numeric: tabular-nums; color: var(--sync-dim); font-size: 0.85rem; min-width: 11rem; }
.sync-player label { color: var(--sync-dim); font-size: 0.85rem; display: flex; gap: 4px; align-items: center; }
</style>
"""

# Kept as a template with one placeholder (the frame rate) so the script stays readable JavaScript.
_SCRIPT = """
<script>
(function () {
  const root = document.currentScript.parentElement.querySelector(".sync-player");
  if (!root || root.dataset.wired) return;
  root.dataset.wired = "1";
  const FPS = __FPS__;
  const videos = Array.from(root.querySelectorAll("video[data-run-id]"));
  const playButton = root.querySelector("#sync-play");
  const scrub = root.querySelector("#sync-scrub");
  const clock = root.querySelector("#sync-time");
  const loop = root.querySelector("#sync-loop");
  let playing = false;

  const length = (v) => (isFinite(v.duration) ? v.duration : 0);
  const leader = () => videos.reduce((a, b) => (length(b) > length(a) ? b : a), videos[0]);
  const total = () => length(leader());
  const frameCount = () => Math.max(1, Math.round(total() * FPS));
  // A video shorter than `t` shows its last frame.
  const clamp = (v, t) => Math.max(0, Math.min(t, length(v) - 0.5 / FPS));

  function show() {
    const t = videos.length ? leader().currentTime : 0;
    const frame = Math.min(frameCount(), Math.floor(t * FPS + 1e-6) + 1);
    clock.textContent = t.toFixed(2) + " s · frame " + frame + " / " + frameCount();
    if (total() > 0 && document.activeElement !== scrub) scrub.value = Math.round((t / total()) * 1000);
    playButton.textContent = playing ? "Pause" : "▶ Play";
    playButton.setAttribute("aria-label", playing ? "Pause all" : "Play all");
    root.dataset.playing = playing ? "true" : "false";
  }

  function seekAll(t) {
    for (const v of videos) {
      const target = clamp(v, t);
      if (Math.abs(v.currentTime - target) > 1e-3) v.currentTime = target;
      v.playbackRate = 1;
    }
    show();
  }

  function align() {
    if (!playing || !videos.length) return;
    const lead = leader();
    const t = lead.currentTime;
    for (const v of videos) {
      if (v === lead || v.seeking) continue;
      if (t >= length(v) - 0.5 / FPS) {  // past its end: hold the last frame
        if (!v.paused) v.pause();
        continue;
      }
      if (v.paused) v.play().catch(() => {});
      const drift = v.currentTime - t;
      if (Math.abs(drift) > 0.25) { v.currentTime = t; v.playbackRate = 1; }
      else if (Math.abs(drift) > 0.5 / FPS) v.playbackRate = drift > 0 ? 0.92 : 1.08;
      else v.playbackRate = 1;
    }
  }

  function loopTick() {
    if (!root.isConnected) { videos.forEach((v) => v.pause()); return; }
    if (!playing) return;
    align();
    show();
    requestAnimationFrame(loopTick);
  }

  function play() {
    if (!videos.length) return;
    const lead = leader();
    if (lead.ended || lead.currentTime >= total() - 0.5 / FPS) seekAll(0);
    else seekAll(lead.currentTime);
    playing = true;
    for (const v of videos) if (v.currentTime < length(v) - 0.5 / FPS || length(v) === 0) v.play().catch(() => {});
    show();
    requestAnimationFrame(loopTick);
  }

  function pause() {
    playing = false;
    videos.forEach((v) => v.pause());
    if (videos.length) seekAll(leader().currentTime);  // line every video up on the same moment
    show();
  }

  function step(frames) {
    if (playing) pause();
    const current = Math.floor(leader().currentTime * FPS + 1e-6);
    const target = Math.max(0, Math.min(frameCount() - 1, current + frames));
    seekAll((target + 0.5) / FPS);  // the middle of the frame: no rounding lands on its neighbour
  }

  playButton.addEventListener("click", () => (playing ? pause() : play()));
  root.querySelector("#sync-prev").addEventListener("click", () => step(-1));
  root.querySelector("#sync-next").addEventListener("click", () => step(1));
  scrub.addEventListener("input", () => seekAll((scrub.value / 1000) * total()));
  root.addEventListener("keydown", (event) => {
    if (event.target === scrub && (event.key === "ArrowLeft" || event.key === "ArrowRight")) return;
    if (event.key === " " || event.key === "k") { event.preventDefault(); playing ? pause() : play(); }
    else if (event.key === "ArrowLeft" || event.key === ",") { event.preventDefault(); step(-1); }
    else if (event.key === "ArrowRight" || event.key === ".") { event.preventDefault(); step(1); }
  });
  for (const v of videos) {
    v.muted = true;
    v.addEventListener("loadedmetadata", () => {
      show();
      if (videos.every((x) => x.readyState >= 1)) root.dataset.ready = "true";
    });
    v.addEventListener("error", () => {
      const note = document.createElement("div");
      note.className = "sync-missing";
      note.style.aspectRatio = v.style.aspectRatio;
      note.textContent = "This video could not be loaded.";
      v.replaceWith(note);
      videos.splice(videos.indexOf(v), 1);
    });
  }
  if (videos.length) {
    leader().addEventListener("timeupdate", align);
    videos.forEach((v) => v.addEventListener("ended", () => {
      if (!playing || v !== leader()) return;
      if (loop.checked) { seekAll(0); videos.forEach((x) => x.play().catch(() => {})); }
      else { playing = false; show(); }
    }));
  }
  show();
})();
</script>
"""


def synced_player_html(cells: Sequence[PlayerCell], *, columns: int, fps: float) -> str:
    """The player for `cells` in reading order, `columns` to a row; frame steps use `fps`."""
    figures = []
    for cell in cells:
        ratio = f"aspect-ratio: {cell.aspect:.4f};"
        caption = f"<figcaption title='{html.escape(cell.label, quote=True)}'>{html.escape(cell.label)}</figcaption>"
        if cell.video_url:
            body = (f"<video data-run-id='{cell.run_id}' src='{html.escape(cell.video_url, quote=True)}' "
                    f"preload='auto' muted playsinline style='{ratio}' "
                    f"aria-label='{html.escape(cell.label, quote=True)}'></video>")
        else:
            body = f"<div class='sync-missing' style='{ratio}'>{html.escape(cell.note or 'no video')}</div>"
        figures.append(f"<figure>{caption}{body}</figure>")
    columns = max(1, columns)
    cell_width = max([MIN_CELL_WIDTH, *(c.width or 0 for c in cells)])
    grid = (f"<div class='sync-grid' style='grid-template-columns: repeat({columns}, minmax(0, 1fr)); "
            f"max-width: {columns * cell_width + (columns - 1) * GAP_PX}px;'>{''.join(figures)}</div>")
    controls = (
        "<div class='sync-controls' role='group' aria-label='Playback of all videos'>"
        "<button type='button' id='sync-prev' aria-label='Previous frame' title='Previous frame (← or ,)'>‹ Frame</button>"
        "<button type='button' id='sync-play' aria-label='Play all' title='Play or pause all (space)'>▶ Play</button>"
        "<button type='button' id='sync-next' aria-label='Next frame' title='Next frame (→ or .)'>Frame ›</button>"
        "<input type='range' id='sync-scrub' min='0' max='1000' step='1' value='0' aria-label='Position'>"
        "<span class='sync-time' id='sync-time'>0.00 s</span>"
        "<label><input type='checkbox' id='sync-loop' checked aria-label='Loop'>Loop</label>"
        "</div>"
    )
    script = _SCRIPT.replace("__FPS__", json.dumps(float(fps)))
    return f"{_CSS}<div class='sync-player' id='sync-player' tabindex='0'>{grid}{controls}</div>{script}"
