"""The gallery's parts: a compact filter bar whose widgets are bound to the URL (a filtered view can
be bookmarked or shared, and survives opening a run and coming back), the grid of run cards, the
pager and the trash."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Any

import streamlit as st

from studio.engines.base import MAX_SEED
from studio.history import Dependent
from studio.services import Services
from studio.trash import CHAIN, CONTINUES, LATER_LINK, MADE_FROM
from studio.ui import cards, selection
from studio.ui import format as fmt
from studio.ui.text import plain
from studio.web.media import parse_id
from studio.views import RUN_STATUSES, SORTS, GalleryFacets, RunCardView, RunPageView, RunQuery

PAGE_SIZE = 24
DEPENDENTS_SHOWN = 10  # sentences before a deletion for good; more are counted
# Every filter widget is bound to the URL query parameter named by its key (st's bind="query-params"),
# and keeps its value while a run's detail is shown on the same page.
BOUND: dict[str, Any] = {"bind": "query-params", "persist_state": "page"}


@dataclass
class GalleryView:
    """What the filter bar shows."""

    text: str = ""
    engines: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    resolutions: list[str] = field(default_factory=list)  # "1280x720"
    frames: list[int] = field(default_factory=list)
    seed: int | None = None
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    favorites: bool = False
    motion_min: float | None = None
    flicker_max: float | None = None
    sort: str = "newest"
    trash: bool = False
    page: int = 1

    @property
    def filtered(self) -> bool:
        """Whether anything narrows the listing (sorting and paging do not)."""
        return bool(self.text.strip() or self.engines or self.statuses or self.tags or self.resolutions or self.frames
                    or self.seed is not None or self.date_from or self.date_to or self.favorites
                    or self.motion_min is not None or self.flicker_max is not None)

    def to_query(self, page_size: int = PAGE_SIZE) -> RunQuery:
        return RunQuery(
            text=self.text, engines=self.engines, statuses=self.statuses, tags=self.tags,
            resolutions=[r for r in map(parse_resolution, self.resolutions) if r],
            frames=[f for f in self.frames if parse_id(f) is not None],
            seed=self.seed if self.seed == 0 or parse_id(self.seed) else None, favorites_only=self.favorites,
            sort=self.sort if self.sort in SORTS else "newest", in_trash=self.trash,
            queued_from=local_midnight_utc(self.date_from) if self.date_from else None,
            queued_until=local_midnight_utc(date.fromordinal(self.date_to.toordinal() + 1)) if self.date_to else None,
            motion_min=self.motion_min, flicker_max=self.flicker_max, page=self.page, page_size=page_size,
        )


def parse_seed(text: str | None) -> int | None:
    """A typed seed (0 to MAX_SEED) as an int; None for anything else."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdecimal() and int(text) <= MAX_SEED else None


def parse_resolution(text: str) -> tuple[int, int] | None:
    """'1280x720' as (1280, 720); None for anything else (a hand-edited URL may hold any text)."""
    width, _, height = str(text).lower().partition("x")
    size = (parse_id(width), parse_id(height))
    return size if None not in size else None  # type: ignore[return-value]


def local_midnight_utc(day: date) -> datetime:
    """The stored (naive UTC) moment at which a day starts in the studio's local time."""
    return datetime.combine(day, time.min).astimezone().astimezone(timezone.utc).replace(tzinfo=None)


def runs(count: int, more: bool = False) -> str:
    """'1 run', '12 runs', or '120+ runs' where the count stopped (RunPageView.more)."""
    return f"{count}+ runs" if more else f"{count} run" if count == 1 else f"{count} runs"


def resolution_label(value: str) -> str:
    return value.replace("x", "×")


# ----- the filter bar ------------------------------------------------------------------------------

def header(trash_count: int) -> bool:
    """The page title, with the switch to the trash on its right; returns whether the trash is shown."""
    title, switch = st.columns([5, 1.2], vertical_alignment="bottom")
    title.title("Gallery")
    return switch.toggle(f"Trash ({trash_count})", key="trash", on_change=_first_page, **BOUND,
                         help="Show the runs moved to the trash, to restore them or delete them for good.")


def filter_bar(facets: GalleryFacets, *, trash: bool) -> GalleryView:
    """Search, engine, status and sort in one row; the rarer filters behind a 'Filters' button."""
    state = st.session_state
    top = st.columns([3, 2, 2, 1.5, 1.5], vertical_alignment="bottom")
    text = top[0].text_input(
        "Search prompts", key="q", placeholder="words from the prompt", on_change=_first_page, **BOUND,
        help="Finds runs whose prompt or negative prompt contains every word you type (word beginnings match "
             "too: 'harb' finds 'harbour'; in Chinese, Japanese, Korean or Thai any part does: '世界' finds "
             "'你好世界').")
    engines = top[1].multiselect(
        "Engine", _options(facets.engines, state.get("engine")), key="engine", placeholder="any engine",
        on_change=_first_page, help="Show only runs made with these engines.", **BOUND)
    statuses = top[2].multiselect("Status", RUN_STATUSES, key="status", placeholder="any status",
                                  on_change=_first_page, help="Show only runs in these states.", **BOUND)
    # Options are the sort names themselves (capitalised), so the URL reads ?sort=Oldest.
    sort = top[3].selectbox("Sort", [name.capitalize() for name in SORTS], key="sort", on_change=_first_page, **BOUND,
                            help="Newest/oldest by the time the run was queued. Longest: the length of the video "
                                 "(frames ÷ fps), longest first. Most motion / least flicker: by the run's "
                                 "measurements (measured runs only). The trash lists the latest deleted first.")
    # Counted before the popover's fields exist in this run: on a page opened from an address, a
    # filter's value is still only in the address, so that is read too.
    def given(key: str) -> Any:
        return state[key] if key in state else st.query_params.get(key)

    active = sum(bool(given(k)) for k in ("tag", "res", "frames", "fav", "from", "to")) + \
        sum(given(k) is not None for k in ("motion", "flicker")) + (parse_seed(given("seed")) is not None)
    with top[4].popover(f"Filters · {active}" if active else "Filters", icon=":material/filter_list:",
                        width="stretch", help="Tags, resolution, frames, seed, dates, favourites and measurements."):
        more = _more_filters(facets)
    return GalleryView(text=text or "", engines=engines, statuses=statuses, sort=(sort or "newest").lower(),
                       trash=trash, page=current_page(), **more)


def _more_filters(facets: GalleryFacets) -> dict[str, Any]:
    state = st.session_state
    favorites = st.toggle("Favourites only", key="fav", on_change=_first_page, **BOUND,
                          help="Show only runs marked as favourite.")
    tags = st.multiselect("Tags", _options(facets.tags, state.get("tag")), key="tag", placeholder="any tags",
                          on_change=_first_page, **BOUND,
                          help="Show only runs that carry all of these tags. Add tags on a run's page.")
    sizes = [f"{w}x{h}" for w, h in facets.resolutions]
    resolutions = st.multiselect(
        "Resolution", sorted(set(sizes) | set(state.get("res") or ()), key=lambda r: parse_resolution(r) or (0, 0)),
        format_func=resolution_label, key="res", placeholder="any size", on_change=_first_page, **BOUND,
        help="Width × height in pixels; the sizes present in the history are listed.")
    frames = st.multiselect("Frames", _options(facets.frames, state.get("frames")), key="frames",
                            placeholder="any length", on_change=_first_page, **BOUND,
                            help="Number of frames; the counts present in the history are listed.")
    # A text field read here, not a number field: Streamlit converts a number field's URL value
    # itself and fails on a hand-edited ?seed=1e400 (int of infinity).
    typed = st.text_input("Seed", key="seed", placeholder="any seed", on_change=_first_page, **BOUND,
                          help="Show only runs made with exactly this seed (a run's page shows its seed).")
    seed = parse_seed(typed)
    if typed.strip() and seed is None:
        st.caption(f"“{plain(typed.strip()[:40])}” is not a seed (a whole number from 0 to {MAX_SEED}), so it "
                   "filters nothing.")
    since, until = st.columns(2)
    date_from = since.date_input("Queued from", value=None, key="from", format="YYYY-MM-DD", on_change=_first_page,
                                 **BOUND, help="Show runs queued on or after this day (your local time). Empty: no limit.")
    date_to = until.date_input("Queued until", value=None, key="to", format="YYYY-MM-DD", on_change=_first_page,
                               **BOUND, help="Show runs queued on or before this day (inclusive). Empty: no limit.")
    moving, steady = st.columns(2)
    motion = moving.number_input(
        "Motion at least", min_value=0.0, step=0.5, value=None, key="motion", placeholder="any", format="%.2f",
        on_change=_first_page, **BOUND,
        help="Measured runs whose mean motion (optical flow, pixels a frame) is at least this.")
    flicker = steady.number_input(
        "Flicker at most", min_value=0.0, max_value=255.0, step=0.5, value=None, key="flicker", placeholder="any",
        format="%.2f", on_change=_first_page, **BOUND,
        help="Measured runs whose mean flicker (brightness change left after following the motion, 0–255) "
             "is at most this.")
    return {"favorites": favorites, "tags": tags, "resolutions": resolutions, "frames": frames,
            "seed": seed, "date_from": date_from, "date_to": date_to,
            "motion_min": motion, "flicker_max": flicker}


def _options(present, chosen) -> list:
    """The values present in the history, plus any chosen ones (a bookmarked URL may name a value
    that is not in the history any more; it stays selectable rather than being dropped)."""
    return sorted(set(present) | set(chosen or ()))


def _first_page() -> None:
    if st.session_state.get("page", 1) != 1:
        st.session_state["page"] = 1  # changed filters start at the first page


def current_page() -> int:
    """The page to show. The pager is drawn below the cards (after the query that needs the page), so
    on a fresh visit its value comes from the URL it is bound to."""
    raw = st.session_state.get("page", st.query_params.get("page", 1))
    return parse_id(str(raw)) or 1  # a page number from the URL: a positive ASCII integer, else the first


def link_params(run_id: int) -> dict[str, str | list[str]]:
    """Query parameters that open a run and keep the gallery's current filters for the way back."""
    params = {key: st.query_params.get_all(key) for key in st.query_params if key != "run"}
    return {**{k: v[0] if len(v) == 1 else v for k, v in params.items()}, "run": str(run_id)}


# ----- the grid ------------------------------------------------------------------------------------

def run_grid(svc: Services, result: RunPageView[RunCardView], *, trash: bool) -> None:
    picked = set(selection.selected())
    kept = link_params(0)  # the current filters, read from the URL once for every card
    cards.run_grid(
        [cards.card_for(run, link_params={**kept, "run": str(run.id)}, selected=run.id in picked) for run in result.runs],
        key="g_grid", trash=trash, can_select_more=len(picked) < selection.MAX_SELECTED,
        max_selected=selection.MAX_SELECTED, max_compare=selection.MAX_COMPARE, on_open=_open, on_select=_select,
        on_restore=lambda run_id: svc.history.restore([run_id]),
    )


def _open(run_id: int) -> None:
    st.query_params["run"] = str(run_id)


def _select(run_id: int, selected: bool) -> None:
    (selection.add if selected else selection.remove)(run_id)


def pager(result: RunPageView) -> None:
    if result.pages <= 1:
        return
    if "page" in st.session_state and st.session_state["page"] != result.page:
        st.session_state["page"] = result.page  # the query clamps the page when fewer runs match
    st.pagination(result.pages, key="page", **BOUND)


# ----- the trash -----------------------------------------------------------------------------------

def trash_bar(svc: Services, total: int) -> None:
    """What the trash holds and the two-step 'Empty trash' (nothing is deleted by one click)."""
    if total == 0:
        return
    left, right = st.columns([4, 1.3], vertical_alignment="center")
    left.caption("Trashed runs keep their files, in a .trash folder beside the outputs, until the trash is "
                 "emptied. Restore a run to bring it and its files back.")
    if not st.session_state.get("g_confirm_empty"):
        if right.button("Empty trash…", icon=":material/delete_forever:", width="stretch",
                        help="Delete every run in the trash and its files for good. Asks for confirmation."):
            st.session_state["g_confirm_empty"] = True
            st.rerun()
        return
    with st.container(border=True):
        dependents_warning(svc.history.purge_dependents())
        st.warning(f"Delete {runs(total)} and their videos, posters, thumbnails and logs for good? This cannot be "
                   "undone. Runs made from them stay; they just lose the link to their parent. Input pictures "
                   "no run uses any more are deleted too.",
                   icon=":material/warning:")
        yes, no, _ = st.columns([1.4, 1, 3])
        if yes.button("Delete for good", type="primary", icon=":material/delete_forever:", key="g_empty_yes",
                      help="Empty the trash now."):
            outcome = svc.history.empty_trash()
            st.session_state["g_confirm_empty"] = False
            st.toast(f"Deleted {runs(outcome.runs)} and {outcome.files} files ({fmt.size(outcome.bytes)}).",
                     icon=":material/delete_forever:")
            st.rerun()
        if no.button("Keep them", key="g_empty_no", help="Leave the trash as it is."):
            st.session_state["g_confirm_empty"] = False
            st.rerun()


def dependent_sentence(dependent: Dependent) -> str:
    """What deleting `dependent.source_id` for good does to a run that stays."""
    run, source = f"#{dependent.run_id}", f"#{dependent.source_id}"
    if dependent.link == CONTINUES:
        return f"{run} continues {source}'s video; deleting {source} leaves {run} without its start."
    if dependent.link == LATER_LINK:
        return (f"{run} is a later link of the extend chain that starts at {source}; deleting {source} leaves "
                "that chain without its start.")
    if dependent.link == MADE_FROM:
        return f"{run} was made from {source}'s video; it stays, without the link to {source}."
    if dependent.link == CHAIN:
        return f"{run} was made from the extend chain through {source}; it stays, without the link to {source}."
    return f"{run} is a re-run of {source}; it stays, without the link to {source}."


def dependents_warning(dependents: list[Dependent]) -> None:
    """Before a deletion for good is confirmed: the runs that continue or were made from the runs
    being deleted. Their rows and videos stay, but the links to the deleted runs go for good (an
    extend chain then plays without its start), so the user hears it before, not after."""
    if not dependents:
        return
    lines = [f"- {dependent_sentence(d)}" for d in dependents[:DEPENDENTS_SHOWN]]
    if len(dependents) > DEPENDENTS_SHOWN:
        lines.append(f"- … and {len(dependents) - DEPENDENTS_SHOWN} more.")
    st.warning("Other runs continue from or were made from the runs being deleted:\n\n" + "\n".join(lines),
               icon=":material/link_off:")
