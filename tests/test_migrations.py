"""The Alembic migrations create exactly the schema the code declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from lms_progress.store import migrate
from lms_progress.store.schema import metadata


def test_migrated_schema_matches_the_declared_one(engine: Engine) -> None:
    assert migrate.is_up_to_date(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    if engine.dialect.name == "sqlite":
        # SQLite cannot reflect an index with a DESC expression; PostgreSQL compares it, and
        # test_page_index_exists sees it here.
        diff = [d for d in diff if getattr(d[1], "name", None) != "ix_enrolments_learner_page"]
    assert diff == []


def test_page_index_exists(engine: Engine) -> None:
    names = {index["name"] for index in inspect(engine).get_indexes("enrolments")}
    assert {"ix_enrolments_learner_page", "uq_enrolments_active"} <= names


def test_downgrade_and_upgrade_again(engine: Engine) -> None:
    from alembic import command

    with engine.begin() as connection:
        config = migrate.alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert migrate.current_revision(engine) is None
    assert "enrolments" not in inspect(engine).get_table_names()
    migrate.upgrade(engine)
    assert migrate.is_up_to_date(engine)
