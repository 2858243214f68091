"""search_prefixes: the SQLite search index keeps word beginnings, so a search stops at a page

The gallery's search matches each word as the beginning of a word ("harb" finds "harbour"). FTS5
answers such a prefix from its term index by merging the document lists of every term that starts
with it, in full, before the first match comes out, so a search for two common words read and merged
some 60,000 entries at 100,000 runs even though the page shows 24. With the beginnings of words
indexed too (`prefix=`, lengths 1 to 12), a prefix up to 12 letters is one list that is read in
order and only as far as needed (studio.db.gallery reads the newest matches first). The index grows
about sixfold (some 150 bytes a run); a longer word still works, by the merge.

PostgreSQL's GIN index answers prefixes itself; it is unchanged.

Revision ID: 0011_search_prefixes
Revises: 0010_id_watermarks
"""

from __future__ import annotations

from alembic import op

revision = "0011_search_prefixes"
down_revision = "0010_id_watermarks"
branch_labels = None
depends_on = None

# The prefix lengths indexed. A longer search word still matches, by FTS5's merge of every term it begins.
PREFIXES = "1 2 3 4 5 6 7 8 9 10 11 12"


def _recreate(options: str) -> None:
    # The triggers of migrations 0002 and 0008_keyframes name the table and need no change: they
    # are compiled when they fire. The external-content table is rebuilt from runs.
    op.execute("DROP TABLE runs_fts")
    op.execute("CREATE VIRTUAL TABLE runs_fts USING fts5(prompt, negative_prompt, content='runs', content_rowid='id', "
               f"tokenize='unicode61 remove_diacritics 2'{options})")
    op.execute("INSERT INTO runs_fts(runs_fts) VALUES ('rebuild')")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        return
    _recreate(f", prefix='{PREFIXES}'")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        return
    _recreate("")
