"""What a gallery card says about its run: the video's own shape, a preview only for a finished
video, the group and lineage badges, and a failed run's error in place of a video length."""

from dataclasses import fields
from datetime import datetime

from studio.ui.cards import card_for
from studio.views import RunCardView


def run(**values) -> RunCardView:
    defaults = {f.name: None for f in fields(RunCardView)}
    defaults.update(id=7, status="succeeded", engine="motion", prompt="harbour", queued_at=datetime(2026, 1, 1),
                    favorite=False, tag_names=[], width=480, height=832, frames=16, video_seconds=2.0,
                    video_path="/v.mp4", thumb_path="/t.jpg")
    return RunCardView(**{**defaults, **values})


def test_a_finished_portrait_run_keeps_its_shape_and_previews_its_video():
    card = card_for(run(sweep_id=3, parent_id=5, continues_id=6), link_params={"run": "7"}, selected=False)
    assert card.aspect == round(480 / 832, 4)
    assert card.video is not None and card.video.endswith("/run/7/video")
    assert card.badges == ["group #3", "from #5", "continues #6"]
    assert "2.0 s" in card.facts and card.error == ""


def test_a_failed_run_shows_its_error_not_a_video_length():
    card = card_for(run(status="failed", video_path=None, thumb_path=None, error="Out of memory. Try lowest."),
                    link_params={}, selected=False)
    assert card.error == "Out of memory. Try lowest." and card.video is None
    assert card.badges == []


def test_a_card_view_holds_exactly_the_columns_a_page_of_cards_loads():
    """gallery.list_cards selects CARD_COLUMNS (and the tags) and card_page_view builds RunCardView
    from them by name: the two lists are one decision, kept in step here."""
    from studio.db.gallery import CARD_COLUMNS

    assert {f.name for f in fields(RunCardView)} == {c.key for c in CARD_COLUMNS} | {"tag_names"}
