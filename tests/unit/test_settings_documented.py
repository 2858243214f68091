"""Settings are data with help text: the Settings page draws each field from its title and
description, so a field without them would appear there unexplained."""

from studio.config import Settings


def test_every_setting_has_a_title_and_help():
    for name, field in Settings.model_fields.items():
        assert field.title and field.title[0].isupper(), f"{name} has no title"
        assert field.description and len(field.description) >= 30, f"{name} has no help text"
