"""full-text prompt search

SQLite: an FTS5 index over runs.prompt and runs.negative_prompt, kept in sync by triggers.
PostgreSQL: the equivalent, a GIN index over a tsvector expression.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PG_VECTOR = "to_tsvector('simple', coalesce(prompt, '') || ' ' || coalesce(negative_prompt, ''))"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_runs_prompt_search ON runs USING gin ({PG_VECTOR})")
        return
    # External-content FTS5: the text stays in runs; the index stores only tokens.
    op.execute(
        "CREATE VIRTUAL TABLE runs_fts USING fts5(prompt, negative_prompt, content='runs', content_rowid='id', "
        "tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute("""
        CREATE TRIGGER runs_fts_insert AFTER INSERT ON runs BEGIN
            INSERT INTO runs_fts(rowid, prompt, negative_prompt) VALUES (new.id, new.prompt, new.negative_prompt);
        END""")
    op.execute("""
        CREATE TRIGGER runs_fts_delete AFTER DELETE ON runs BEGIN
            INSERT INTO runs_fts(runs_fts, rowid, prompt, negative_prompt)
            VALUES ('delete', old.id, old.prompt, old.negative_prompt);
        END""")
    # Only prompt edits touch the index; progress updates (many per run) must stay cheap.
    op.execute("""
        CREATE TRIGGER runs_fts_update AFTER UPDATE OF prompt, negative_prompt ON runs BEGIN
            INSERT INTO runs_fts(runs_fts, rowid, prompt, negative_prompt)
            VALUES ('delete', old.id, old.prompt, old.negative_prompt);
            INSERT INTO runs_fts(rowid, prompt, negative_prompt) VALUES (new.id, new.prompt, new.negative_prompt);
        END""")
    op.execute("INSERT INTO runs_fts(runs_fts) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_runs_prompt_search")
        return
    for trigger in ("runs_fts_insert", "runs_fts_delete", "runs_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS runs_fts")
