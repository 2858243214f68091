"""search on both dialects: accent-insensitive prompt search on PostgreSQL

SQLite already folds accents (FTS5's `unicode61 remove_diacritics 2` tokenizer, migration 0002) and
the gallery queries prefixes there, so nothing changes on SQLite: its full-text triggers stay as
they are.

PostgreSQL: the GIN index of migration 0002 is rebuilt over unaccented text, so that "cafe" finds
"Café". `unaccent()` itself is only STABLE (it reads a dictionary that could change), and an index
expression must be IMMUTABLE; the usual answer is an IMMUTABLE wrapper that names the dictionary
explicitly, studio_unaccent(text). The gallery's query (studio.db.gallery) uses the very same
expression, or the planner would not use the index. The index keeps its name, so the drift check's
exclusion (studio.db.migrate.UNMAPPED_INDEXES) still covers it.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD_VECTOR = "to_tsvector('simple', coalesce(prompt, '') || ' ' || coalesce(negative_prompt, ''))"
NEW_VECTOR = "to_tsvector('simple', studio_unaccent(coalesce(prompt, '') || ' ' || coalesce(negative_prompt, '')))"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # unaccent ships with PostgreSQL (contrib) and is a trusted extension: the database's owner may
    # create it without being a superuser.
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    schema = bind.exec_driver_sql(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'unaccent'").scalar_one()
    # Schema-qualified, so the index does not depend on the search_path of whoever writes a row
    # (pg_dump's restore, for one, runs with an empty search_path).
    op.execute(f"""
        CREATE OR REPLACE FUNCTION studio_unaccent(text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
        AS $$ SELECT {schema}.unaccent('{schema}.unaccent'::regdictionary, $1) $$""")
    op.execute("DROP INDEX IF EXISTS ix_runs_prompt_search")
    op.execute(f"CREATE INDEX ix_runs_prompt_search ON runs USING gin ({NEW_VECTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_runs_prompt_search")
    op.execute(f"CREATE INDEX ix_runs_prompt_search ON runs USING gin ({OLD_VECTOR})")
    op.execute("DROP FUNCTION IF EXISTS studio_unaccent(text)")
    # The extension stays: other objects in the database may use it, and it costs nothing idle.
