"""The Variants section of the real Generate page in Streamlit's AppTest, on a temporary history: the
live run count, the first invalid value named, confirmation above the threshold, and queueing."""

from streamlit.testing.v1 import AppTest

from studio.ui.runtime import services as cached_services


def type_values(at: AppTest, text: str, slot: int = 1) -> AppTest:
    field = next(t for t in at.text_input if t.key.startswith(f"variants-values-{slot}-"))
    return field.input(text).run()


def test_the_count_follows_the_values_and_queueing_makes_one_sweep(studio):
    at, svc = studio, cached_services()
    assert at.selectbox(key="variants-param-1-motion").value == "guidance"
    at = type_values(at, "0.5, 1, 2")
    assert any("3 runs" in m.value for m in at.markdown)
    at.selectbox(key="variants-param-2-motion-guidance").select("motion").run()
    at = type_values(at, "zoom_in, drift", slot=2)
    assert any("6 runs" in m.value for m in at.markdown)
    button = at.button(key="variants-queue")
    assert not button.disabled
    button.click().run()
    runs = svc.history.get_runs(list(range(1, 7)))
    assert len(runs) == 6 and len({r.sweep_id for r in runs}) == 1 and runs[0].sweep_id is not None
    assert {(r.guidance, r.params["motion"]) for r in runs} == {(g, m) for g in (0.5, 1.0, 2.0) for m in ("zoom_in", "drift")}
    assert not at.exception, at.exception
    assert [link.proto.label for link in at.get("page_link") if "sweep" in link.proto.label] == \
        [f"Open sweep #{runs[0].sweep_id} (6 runs) side by side"]


def test_an_invalid_value_is_named_and_nothing_can_be_queued(studio):
    at = type_values(studio, "1, 5")
    assert "Motion amount must be between 0.1 and 3" in at.error[0].value
    assert not [b for b in at.button if b.key == "variants-queue"]
    at = type_values(at, "1-3 (+0)")
    assert "must be positive" in at.error[0].value


def test_a_big_sweep_asks_for_confirmation_first(studio):
    svc = cached_services()
    svc.apply_settings(svc.settings().model_copy(update={"sweep_confirm_above": 2}))
    at = type_values(studio.run(), "0.5, 1, 2")
    assert at.button(key="variants-queue").disabled
    at.checkbox(key="variants-confirm-3").check().run()
    assert not at.button(key="variants-queue").disabled
