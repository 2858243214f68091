"""The gallery's grid of run cards, drawn in the browser as ONE component from a small JSON list.

Native widgets cost the server about a millisecond per card per script run (a container, image,
texts, a link and a checkbox each); one component element keeps a page of 24 cards near the cost
of an empty page. Thumbnails load from the media routes (studio.web.media), so the server does not
read image files on every run, and the browser caches them.

A card is a link (middle-click opens the run in a new tab); a plain click, the Select box and the
Restore button send events back to Python (st.components.v2 trigger values) without reloading the
app. Prompts and tags are user text: the script only ever sets them as textContent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

import streamlit as st

from studio.jobs.status import RunStatus
from studio.ui import format as fmt
from studio.ui.text import isolated
from studio.views import RunCardView
from studio.web.media import run_file_url

GRID_CSS = """
.run-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr)); gap: 0.75rem;
  font-family: var(--st-font); color: var(--st-text-color); font-size: 0.875rem; }
.run-card { border: 1px solid var(--st-border-color); border-radius: var(--st-base-radius); overflow: hidden;
  display: flex; flex-direction: column; background: var(--st-background-color); }
.run-card:hover { border-color: var(--st-primary-color); }
.run-open { color: inherit; text-decoration: none; display: block; flex: 1; }
.run-open:focus-visible { outline: 2px solid var(--st-primary-color); outline-offset: -2px; }
.run-media { position: relative; display: block; background: var(--st-secondary-background-color); }
.run-thumb { width: 100%; aspect-ratio: 16 / 9; object-fit: contain; display: block;
  background: var(--st-secondary-background-color); }
.run-preview { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: contain; pointer-events: none; }
.run-badges { display: flex; flex-wrap: wrap; gap: 0.25rem; margin-top: 0.25rem; }
.run-badge { padding: 0 0.4rem; border-radius: 0.5rem; font-size: 0.72rem; border: 1px solid var(--st-border-color); }
.run-error { color: var(--st-red-color); font-size: 0.8rem; overflow-wrap: anywhere; }
.run-thumb.empty { display: flex; align-items: center; justify-content: center; opacity: 0.7; }
.run-body { padding: 0.5rem 0.75rem 0.25rem; }
.run-title { font-weight: 600; }
.run-status { font-weight: 600; }
.run-status.green { color: var(--st-green-color); } .run-status.red { color: var(--st-red-color); }
.run-status.orange { color: var(--st-orange-color); } .run-status.blue { color: var(--st-blue-color); }
.run-status.violet { color: var(--st-violet-color); } .run-status.gray { color: var(--st-gray-color); }
.run-prompt { margin: 0.25rem 0; opacity: 0.85; overflow-wrap: anywhere; }
.run-facts { opacity: 0.65; font-size: 0.8rem; }
.run-tag { display: inline-block; margin: 0.25rem 0.25rem 0 0; padding: 0 0.4rem; border-radius: 0.5rem;
  background: var(--st-secondary-background-color); font-size: 0.75rem;
  max-width: 100%; box-sizing: border-box; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  vertical-align: bottom; }
.run-foot { display: flex; justify-content: space-between; align-items: center; padding: 0.25rem 0.75rem 0.5rem; }
.run-foot label { display: flex; gap: 0.35rem; align-items: center; cursor: pointer; }
.run-foot button { font: inherit; color: inherit; background: var(--st-secondary-background-color);
  border: 1px solid var(--st-border-color); border-radius: var(--st-button-radius); padding: 0.2rem 0.6rem; cursor: pointer; }
.run-foot button:hover { border-color: var(--st-primary-color); color: var(--st-primary-color); }
"""

GRID_JS = """
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function card(run, data, setTriggerValue) {
  const article = el("article", "run-card");
  article.dataset.runId = String(run.id);
  const open = el("a", "run-open");
  open.href = run.href;
  open.title = "Open run #" + run.id;
  open.addEventListener("click", (event) => {
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();  // open inside this session (keeps the selection)
    setTriggerValue("open", run.id);
  });
  const media = el("div", "run-media");
  if (run.thumb) {
    const image = el("img", "run-thumb");
    image.loading = "lazy";
    image.alt = "Run #" + run.id;
    image.src = run.thumb;
    if (run.aspect) image.style.aspectRatio = String(run.aspect);  // the video's own shape, never cropped
    media.appendChild(image);
  } else {
    const empty = el("div", "run-thumb empty", run.status);
    if (run.aspect) empty.style.aspectRatio = String(run.aspect);
    media.appendChild(empty);
  }
  if (run.video) {
    // A muted loop while the pointer is over the card: only the hovered card's video is fetched,
    // and leaving the card removes it (and stops the download).
    article.addEventListener("mouseenter", () => {
      if (media.querySelector(".run-preview")) return;
      const preview = el("video", "run-preview");
      preview.muted = true; preview.loop = true; preview.autoplay = true; preview.playsInline = true;
      preview.preload = "auto";
      preview.src = run.video;
      media.appendChild(preview);
      preview.play().catch(() => {});
    });
    article.addEventListener("mouseleave", () => {
      const preview = media.querySelector(".run-preview");
      if (preview) { preview.pause(); preview.removeAttribute("src"); preview.load(); preview.remove(); }
    });
  }
  open.appendChild(media);
  const body = el("div", "run-body");
  const title = el("div", "run-title");
  title.append(el("span", "", "#" + run.id + " · " + run.engine + " · "), el("span", "run-status " + run.color, run.status));
  if (run.favorite) title.append(el("span", "", " ★"));
  body.append(title, el("div", "run-prompt", run.prompt));
  body.append(run.error ? el("div", "run-error", run.error) : el("div", "run-facts", run.facts));
  if (run.badges.length) {
    const badges = el("div", "run-badges");
    for (const badge of run.badges) badges.append(el("span", "run-badge", badge));
    body.append(badges);
  }
  for (const tag of run.tags) {  // a long tag ends in "…" inside the card; its whole text on hover
    const chip = el("span", "run-tag", tag);
    chip.title = tag;
    body.append(chip);
  }
  open.appendChild(body);
  article.appendChild(open);

  const foot = el("div", "run-foot");
  if (data.mode === "trash") {
    const restore = el("button", "", "Restore");
    restore.type = "button";
    restore.title = "Put the run and its files back in the gallery";
    restore.addEventListener("click", () => setTriggerValue("restore", run.id));
    foot.appendChild(restore);
  } else {
    const label = el("label");
    const box = el("input");
    box.type = "checkbox";
    box.checked = run.selected;
    box.disabled = !run.selected && !data.can_select_more;
    label.title = box.disabled ? data.full_hint : data.select_hint;
    box.addEventListener("change", () => setTriggerValue("select", { id: run.id, selected: box.checked }));
    label.append(box, el("span", "", "Select"));
    foot.appendChild(label);
  }
  article.appendChild(foot);
  return article;
}

export default function ({ parentElement, data, setTriggerValue }) {
  let grid = parentElement.querySelector(".run-grid");
  if (!grid) {
    grid = el("div", "run-grid");
    parentElement.appendChild(grid);
  }
  grid.replaceChildren(...data.cards.map((run) => card(run, data, setTriggerValue)));
}
"""

_run_grid = st.components.v2.component("studio.run_grid", css=GRID_CSS, js=GRID_JS)


@dataclass(frozen=True)
class Card:
    """What one card shows; `href` opens the run (with the gallery's filters kept for the way back)."""

    id: int
    href: str
    thumb: str | None
    engine: str
    status: str
    color: str
    favorite: bool
    prompt: str
    facts: str
    tags: list[str] = field(default_factory=list)
    selected: bool = False
    aspect: float | None = None  # width / height of the video, so the thumbnail keeps its shape
    video: str | None = None  # played muted on hover
    badges: list[str] = field(default_factory=list)  # group, lineage
    error: str = ""  # a failed run's reason, shown instead of its facts


def card_for(run: RunCardView, *, link_params: dict[str, str | list[str]], selected: bool) -> Card:
    finished = run.status == RunStatus.SUCCEEDED and bool(run.video_path)
    facts = [f"{run.width}×{run.height}" if run.width and run.height else "",
             f"{run.frames} frames" if run.frames else "",
             f"{run.video_seconds:.1f} s" if run.video_seconds and finished else "",
             fmt.when(run.queued_at)[:16]]
    badges = [f"group #{run.sweep_id}" if run.sweep_id else "", f"from #{run.parent_id}" if run.parent_id else "",
              f"continues #{run.continues_id}" if run.continues_id else ""]
    error = fmt.excerpt(run.error or "failed", 140) if run.status == RunStatus.FAILED else ""
    return Card(
        id=run.id, href="?" + urlencode(link_params, doseq=True),
        thumb=run_file_url(run.id, "thumb") if run.thumb_path else None,
        engine=run.engine, status=run.status, color=fmt.STATUS_COLORS[run.status], favorite=run.favorite,
        prompt=isolated(fmt.excerpt(run.prompt or "(no prompt)", 90)), facts=" · ".join(f for f in facts if f),
        tags=run.tag_names, selected=selected,
        aspect=round(run.width / run.height, 4) if run.width and run.height else None,
        video=run_file_url(run.id) if finished else None, badges=[b for b in badges if b], error=error,
    )


def run_grid(cards: Sequence[Card], *, key: str, trash: bool, can_select_more: bool, max_selected: int,
             max_compare: int, on_open: Callable[[int], None], on_select: Callable[[int, bool], None],
             on_restore: Callable[[int], None]) -> None:
    """Mount the grid. The callbacks run before the next script run, like a widget's on_change."""
    data = {
        "cards": [vars(c) for c in cards], "mode": "trash" if trash else "gallery",
        "can_select_more": can_select_more,
        "select_hint": f"Select runs on any page to export or trash them together, or 2 to {max_compare} "
                       "to compare.",
        "full_hint": f"{max_selected} runs are selected, the most there can be; unselect one first.",
    }

    def event(name: str) -> dict | int | None:
        return (st.session_state.get(key) or {}).get(name)

    def opened() -> None:
        if (run_id := event("open")) is not None:
            on_open(int(run_id))

    def selected() -> None:
        if isinstance(value := event("select"), dict):
            on_select(int(value["id"]), bool(value["selected"]))

    def restored() -> None:
        if (run_id := event("restore")) is not None:
            on_restore(int(run_id))

    _run_grid(key=key, data=data, on_open_change=opened, on_select_change=selected, on_restore_change=restored)
