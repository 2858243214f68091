"""A measurement chart's legend names each run in words that fit its one row, or only by number."""

from __future__ import annotations

from studio.ui.measurements import legend_names


def test_a_sweeps_values_are_kept_when_they_fit():
    labels = {4: "#4 · Motion amount=0.5", 5: "#5 · Motion amount=1", 6: "#6 · Motion amount=2"}
    assert legend_names([4, 5, 6], labels) == {4: "#4 · 0.5", 5: "#5 · 1", 6: "#6 · 2"}


def test_runs_differing_in_many_parameters_are_named_by_number_so_no_entry_is_cut_off():
    labels = {i: f"#{i} · Frames per second={fps} · Frames=16 · Width (px)=256 · Seed=3624221{i}"
              for i, fps in ((1, 24), (2, 12), (3, 8), (26, 30))}
    assert legend_names([1, 2, 3, 26], labels) == {1: "#1", 2: "#2", 3: "#3", 26: "#26"}


def test_a_run_without_a_label_is_its_number():
    assert legend_names([7], {}) == {7: "#7"}
