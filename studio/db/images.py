"""Input image rows, stored once by content hash. The caller owns the session; nothing here
commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from studio.db.engine import dialect_insert
from studio.db.models import Image, utcnow


def get_or_add_image(session: Session, *, sha256: str, path: str, width: int, height: int,
                     size_bytes: int, original_name: str) -> Image:
    """The one row for this picture. Insert-if-absent in one statement: two tabs submitting the same
    new picture at once both get that row (a look-then-insert would fail the second submission on
    the unique sha256 and lose its run)."""
    insert_into = dialect_insert(session)
    session.execute(insert_into(Image).values(sha256=sha256, path=path, width=width, height=height, size_bytes=size_bytes,
                                              original_name=original_name[:255], created_at=utcnow())
                    .on_conflict_do_nothing(index_elements=[Image.sha256]))
    return session.scalars(select(Image).where(Image.sha256 == sha256)).one()


def image_by_sha256(session: Session, sha256: str) -> Image | None:
    return session.scalars(select(Image).where(Image.sha256 == sha256)).one_or_none()
