"""The gallery's filter state turned into a query: sizes parsed, local calendar days turned into the
stored UTC bounds (the last day included), and what counts as filtering."""

from datetime import date, datetime, time, timezone

from studio.ui.gallery import GalleryView


def local_midnight_in_utc(day: date) -> datetime:
    return datetime.combine(day, time.min).astimezone().astimezone(timezone.utc).replace(tzinfo=None)


def test_days_become_utc_bounds_with_the_last_day_included():
    query = GalleryView(date_from=date(2026, 3, 1), date_to=date(2026, 3, 31)).to_query()
    assert query.queued_from == local_midnight_in_utc(date(2026, 3, 1))
    assert query.queued_until == local_midnight_in_utc(date(2026, 4, 1))
    assert GalleryView().to_query().queued_from is None and GalleryView().to_query().queued_until is None


def test_sizes_are_parsed_and_the_rest_passes_through():
    view = GalleryView(text="harbour", resolutions=["1280x720", "720X1280", "wide"], frames=[49], seed=7,
                       favorites=True, sort="longest", trash=True, page=3)
    query = view.to_query(page_size=12)
    assert query.resolutions == [(1280, 720), (720, 1280)]
    assert (query.text, query.frames, query.seed, query.favorites_only, query.sort, query.in_trash) == \
        ("harbour", [49], 7, True, "longest", True)
    assert (query.page, query.page_size) == (3, 12)


def test_sorting_paging_and_the_trash_are_not_filters():
    assert not GalleryView(sort="oldest", page=4, trash=True, text="  ").filtered
    assert GalleryView(seed=0).filtered and GalleryView(tags=["night"]).filtered
