"""The schema is code: upgrade from empty to head, downgrade to base, and no drift from the models."""

import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from studio.db import migrate
from studio.db.engine import make_engine
from studio.db.models import Base


@pytest.fixture()
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.mark.both_dialects
def test_upgrade_creates_every_table_and_downgrade_removes_them(engine):
    migrate.run(engine, "upgrade", "head")
    tables = set(inspect(engine).get_table_names())
    assert {"runs", "images", "sweeps", "settings", "run_tags", "alembic_version"} <= tables
    assert migrate.current_revision(engine) == migrate.head_revision()

    migrate.run(engine, "downgrade", "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert migrate.current_revision(engine) is None


@pytest.mark.both_dialects
def test_models_and_migrations_do_not_drift(engine):
    migrate.run(engine, "upgrade", "head")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True, "include_name": migrate.include_name}), Base.metadata)
    assert diff == []


def test_upgrade_backs_up_an_existing_database_and_keeps_its_rows(tmp_path, engine):
    migrate.run(engine, "upgrade", "head")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO settings (key, value, updated_at) VALUES ('developer_mode', 'true', '2026-01-01')")
    # Step the database one revision back, as if written by the previous release, then migrate.
    first = migrate.alembic_config()
    revisions = list(ScriptDirectory.from_config(first).walk_revisions())
    migrate.run(engine, "downgrade", revisions[1].revision)
    outcome = migrate.upgrade(engine, tmp_path / "data" / "studio.db")
    assert outcome.changed and outcome.backup is not None and outcome.backup.exists()
    with sqlite3.connect(outcome.backup) as copy:
        assert copy.execute("SELECT value FROM settings WHERE key='developer_mode'").fetchone() == ("true",)


@pytest.mark.both_dialects
def test_a_database_from_newer_code_is_refused(engine):
    migrate.run(engine, "upgrade", "head")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'f00dfeed9999'")
    with pytest.raises(migrate.DatabaseTooNew, match="newer version"):
        migrate.upgrade(engine, None)


def test_sqlite_runs_in_wal_with_foreign_keys(engine):
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_the_keyframes_migration_keeps_prompt_search_working(engine):
    # 0008 rebuilds the runs table on SQLite (batch mode), which drops the search triggers of 0002.
    migrate.run(engine, "upgrade", "0007")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO runs (status, engine, prompt, negative_prompt, params, step, total_steps, "
                             "queued_at, favorite, notes, manifest, attempts, cancel_requested) VALUES ('succeeded', "
                             "'motion', 'old harbour', '', '{}', 0, 0, '2026-01-01', 0, '', '{}', 0, 0)")
    for target in ("head", "0007", "head"):
        migrate.run(engine, "upgrade" if target == "head" else "downgrade", target)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO runs (status, engine, prompt, negative_prompt, params, step, total_steps, "
                             "queued_at, favorite, notes, manifest, attempts, cancel_requested) VALUES ('queued', "
                             "'motion', 'new harbour', '', '{}', 0, 0, '2026-01-02', 0, '', '{}', 0, 0)")
        found = conn.exec_driver_sql("SELECT rowid FROM runs_fts WHERE runs_fts MATCH 'harbour' ORDER BY rowid").all()
    assert [r[0] for r in found] == [1, 2]


def test_the_head_the_code_knows_is_the_newest_migration(engine):
    # The fast start reads the version table and compares it with this constant: a new migration
    # must update it, or every start would take the slow path (and this test fails first).
    assert migrate.HEAD_REVISION == migrate.head_revision()
    assert not migrate.at_head(engine), "an empty database is not at head"
    migrate.run(engine, "upgrade", "head")
    assert migrate.at_head(engine) and migrate.current_revision(engine) == migrate.HEAD_REVISION
