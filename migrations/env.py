"""Alembic environment. The URL comes from the caller (studio.db.migrate passes a connection) or,
from the alembic command line, from the studio's own configuration."""

from __future__ import annotations

from alembic import context

from studio.config import Paths
from studio.db.engine import make_engine
from studio.db.migrate import include_name
from studio.db.models import Base

target_metadata = Base.metadata


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode recreates the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # Leaves out the full-text objects the migrations make by hand (SQLite's FTS5 tables,
        # PostgreSQL's GIN index), so `alembic check` is clean on both dialects.
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    engine = make_engine(Paths.from_env().database_url)
    with engine.connect() as conn:
        run_migrations(conn)
    engine.dispose()
