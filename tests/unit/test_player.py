"""The synced player's markup: what the script and the browser tests rely on, and escaping."""

from studio.ui.player import PlayerCell, synced_player_html


def test_each_video_names_its_run_and_the_controls_have_stable_ids_and_labels():
    html = synced_player_html([PlayerCell("#1 · guidance=0.5", 1, "/studio/media/run/1/video", width=256),
                               PlayerCell("#2 · guidance=1.0", 2, "/studio/media/run/2/video", width=256)],
                              columns=2, fps=12)
    assert html.count("<video ") == 2
    assert "data-run-id='1' src='/studio/media/run/1/video'" in html and "data-run-id='2'" in html
    for control, label in (("sync-play", "Play all"), ("sync-prev", "Previous frame"), ("sync-next", "Next frame")):
        assert f"id='{control}' aria-label='{label}'" in html
    assert "id='sync-scrub' min='0' max='1000' step='1' value='0' aria-label='Position'" in html
    assert "const FPS = 12.0;" in html
    assert "repeat(2, minmax(0, 1fr)); max-width: 776px" in html  # two 384 px cells (the minimum) and a gap


def test_labels_are_escaped_and_a_run_without_video_shows_why():
    html = synced_player_html([PlayerCell("<b>#3</b> prompt='x'", 3, "/studio/media/run/3/video"),
                               PlayerCell("#4", 4, None, note="No video (failed)")], columns=2, fps=24)
    assert "<b>#3</b>" not in html and "&lt;b&gt;#3&lt;/b&gt; prompt=&#x27;x&#x27;" in html
    assert html.count("<video ") == 1 and "No video (failed)" in html
