"""Parameters are shown by their labels (ParamSpec.label), never their stored names: in Variants, in
sweep and selection labels, in the compare table."""

from studio.engines.motion import MotionEngine
from studio.sweeps import Axis, label, param_label, param_names
from studio.ui.variants import _label
from studio.sweeps import SEED_SPEC

NAMES = param_names([MotionEngine().info])


def test_one_function_names_a_parameter_by_its_label():
    info = MotionEngine().info
    assert param_label(info, "guidance") == "Motion amount"
    assert param_label(info, "seed") == "Seed" and param_label(None, "engine") == "Engine"
    assert NAMES("motion", "guidance") == "Motion amount"
    # The fields every run has, and a name no engine has any more, read as labels too.
    assert (param_label(info, "prompt"), param_label(info, "negative_prompt")) == ("Prompt", "Negative prompt")
    assert param_label(info, "old_knob") == "Old knob"


def test_sweep_labels_use_the_label():
    assert label({"engine": "motion", "guidance": 9, "seed": 3}, [Axis("guidance", ()), Axis("seed", ())],
                 NAMES) == "Motion amount=9 · Seed=3"


def test_the_vary_selectbox_shows_the_label_alone():
    options = {spec.name: spec for spec in MotionEngine().info.params} | {"seed": SEED_SPEC}
    assert _label(options, "guidance") == "Motion amount"
