"""Settings rows: one key -> JSON value per setting. The caller owns the session; nothing here
commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from studio.config import Settings
from studio.db.models import Setting


def load_settings(session: Session) -> Settings:
    stored = {row.key: row.value for row in session.scalars(select(Setting))}
    known = {k: v for k, v in stored.items() if k in Settings.model_fields}
    return Settings.model_validate(known)


def save_settings(session: Session, settings: Settings) -> None:
    for key, value in settings.model_dump(mode="json").items():
        row = session.get(Setting, key)
        if row is None:
            session.add(Setting(key=key, value=value))
        elif row.value != value:
            row.value = value


def get_setting_value(session: Session, key: str, default: Any = None) -> Any:
    row = session.get(Setting, key)
    return default if row is None else row.value


def set_setting_value(session: Session, key: str, value: Any) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value
