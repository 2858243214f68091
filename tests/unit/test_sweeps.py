import pytest

from studio.engines.base import InputError, ParamSpec
from studio.sweeps import Axis, expand, label, parse_values

GUIDANCE = ParamSpec("guidance", "Guidance scale", "float", 9.0, "", minimum=0, maximum=20, step=0.5)
FRAMES = ParamSpec("frames", "Frames", "int", 16, "", minimum=2, maximum=240)
MOTION = ParamSpec("motion", "Motion", "choice", "zoom_in", "", choices=("zoom_in", "pan_left", "drift"))


@pytest.mark.parametrize(("spec", "text", "expected"), [
    (GUIDANCE, "6, 9, 12", (6.0, 9.0, 12.0)),
    (GUIDANCE, "6-12 (+3)", (6.0, 9.0, 12.0)),
    (GUIDANCE, "6-7 (+0.5), 12", (6.0, 6.5, 7.0, 12.0)),
    (FRAMES, "8..16 (+4)", (8, 12, 16)),
    (FRAMES, "16, 8, 16", (16, 8)),
    (MOTION, "pan_left, drift", ("pan_left", "drift")),
])
def test_lists_and_ranges_parse_to_typed_values(spec, text, expected):
    assert parse_values(spec, text) == expected


@pytest.mark.parametrize(("spec", "text", "message"), [
    (GUIDANCE, "", "at least one value"),
    (GUIDANCE, "12-6 (+3)", "backwards"),
    (GUIDANCE, "0-1000 (+1)", "at most 64"),
    (FRAMES, "eight", "whole number"),
    (FRAMES, "8-12 (+0.5)", "takes whole numbers; '8-12 \\(\\+0.5\\)' would give 8.5"),  # was rounded to 5 runs
    (MOTION, "spin", "one of"),
])
def test_bad_values_name_the_problem(spec, text, message):
    with pytest.raises(InputError, match=message) as error:
        parse_values(spec, text)
    assert error.value.param == spec.name


def test_two_axes_make_every_combination_with_one_shared_seed():
    combos = expand({"frames": 16, "seed": None}, [Axis("guidance", (6.0, 9.0)), Axis("motion", ("zoom_in", "drift", "pan_left"))])
    assert len(combos) == 6
    assert {c["seed"] for c in combos} == {combos[0]["seed"]} and combos[0]["seed"] is not None
    assert [(c["guidance"], c["motion"]) for c in combos[:3]] == [(6.0, "zoom_in"), (6.0, "drift"), (6.0, "pan_left")]
    assert label(combos[4], [Axis("guidance", ()), Axis("motion", ())]) == "guidance=9.0 · motion=drift"


def test_a_seed_axis_varies_the_seed():
    combos = expand({"seed": None}, [Axis("seed", (1, 2, 3))])
    assert [c["seed"] for c in combos] == [1, 2, 3]


def test_the_same_parameter_twice_is_refused():
    with pytest.raises(InputError, match="two different"):
        expand({}, [Axis("guidance", (1.0,)), Axis("guidance", (2.0,))])
