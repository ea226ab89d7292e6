"""The schema, in SQLAlchemy Core. Alembic migrations (store/migrations) create it.

Instants are integers: seconds since the Unix epoch, in UTC. They sort, compare and travel through
every driver exactly; the organisation's time zone is applied only when a date is shown.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    false,
    text,
    true,
)
from sqlalchemy.dialects import sqlite

from lms_progress.progress.rules import MARKS_DIGITS
from lms_progress.validation import EMAIL_MAX

# On SQLite an INTEGER PRIMARY KEY is the rowid itself: one B-tree fewer per table.
Id = BigInteger().with_variant(sqlite.INTEGER(), "sqlite")
Instant = BigInteger

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

organisation = Table(
    "organisation",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, server_default=""),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    CheckConstraint("id = 1", name="single_row"),
)

learners = Table(
    "learners",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("email", String(EMAIL_MAX), nullable=True),
    Column("image_url", Text, nullable=False, server_default=""),
    Column("manager_id", Id, ForeignKey("learners.id"), nullable=True),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("created_at", Instant, nullable=False),
)

courses = Table(
    "courses",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("type", SmallInteger, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("created_at", Instant, nullable=False),
    CheckConstraint("type IN (1, 2, 3)", name="type"),
)

batches = Table(
    "batches",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("course_id", Id, ForeignKey("courses.id"), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("starts_at", Instant, nullable=True),
    Column("ends_at", Instant, nullable=True),
    Column("capacity", Integer, nullable=True),
    Column("created_at", Instant, nullable=False),
)

modules = Table(
    "modules",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("course_id", Id, ForeignKey("courses.id"), nullable=False),
    Column("batch_id", Id, ForeignKey("batches.id"), nullable=True),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("position", Integer, nullable=False, server_default=text("0")),
    Column("created_at", Instant, nullable=False),
    Index(None, "course_id", "batch_id"),
)

# course_id and batch_id repeat the module's, so that counting what applies to an enrolment
# needs no join. batch_id is NULL for entities of the course itself.
entities = Table(
    "entities",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("module_id", Id, ForeignKey("modules.id"), nullable=False, index=True),
    Column("course_id", Id, ForeignKey("courses.id"), nullable=False),
    Column("batch_id", Id, ForeignKey("batches.id"), nullable=True),
    Column("entity_type", SmallInteger, nullable=False),
    Column("name", Text, nullable=False),
    Column("mandatory", Boolean, nullable=False, server_default=true()),
    Column("published", Boolean, nullable=False, server_default=true()),
    Column("deleted", Boolean, nullable=False, server_default=false()),
    Column("max_marks", String(MARKS_DIGITS), nullable=True),
    Column("created_at", Instant, nullable=False),
    CheckConstraint("entity_type BETWEEN 0 AND 9", name="entity_type"),
    Index(None, "course_id", "batch_id"),
)

# One row per learner and course while active (ended_at IS NULL). The progress totals live here and
# are updated in the same transaction as every write that changes them; reads never count.
enrolments = Table(
    "enrolments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("learner_id", Id, ForeignKey("learners.id"), nullable=False),
    Column("course_id", Id, ForeignKey("courses.id"), nullable=False),
    Column("batch_id", Id, ForeignKey("batches.id"), nullable=True),
    Column("enrolled_at", Instant, nullable=False),
    Column("started_at", Instant, nullable=True),
    Column("completed_at", Instant, nullable=True),
    Column("completed_by_admin", Boolean, nullable=False, server_default=false()),
    Column("ended_at", Instant, nullable=True),
    Column("total_count", Integer, nullable=False, server_default=text("0")),
    Column("completed_count", Integer, nullable=False, server_default=text("0")),
    Column("last_completed_at", Instant, nullable=True),
    Column("mandatory_total_count", Integer, nullable=False, server_default=text("0")),
    Column("mandatory_completed_count", Integer, nullable=False, server_default=text("0")),
    Column("last_mandatory_completed_at", Instant, nullable=True),
    CheckConstraint("completed_count BETWEEN 0 AND total_count", name="completed_le_total"),
    CheckConstraint(
        "mandatory_completed_count BETWEEN 0 AND mandatory_total_count",
        name="mandatory_completed_le_total",
    ),
    # The seed endpoint's page: newest enrolment first, ties by course id.
    Index(
        "ix_enrolments_learner_page",
        "learner_id",
        text("enrolled_at DESC"),
        "course_id",
        sqlite_where=text("ended_at IS NULL"),
        postgresql_where=text("ended_at IS NULL"),
    ),
    Index(
        "uq_enrolments_active",
        "learner_id",
        "course_id",
        unique=True,
        sqlite_where=text("ended_at IS NULL"),
        postgresql_where=text("ended_at IS NULL"),
    ),
    Index(None, "course_id", "batch_id"),
)

entity_completions = Table(
    "entity_completions",
    metadata,
    Column("enrolment_id", Id, ForeignKey("enrolments.id"), primary_key=True),
    Column("entity_id", Id, ForeignKey("entities.id"), primary_key=True),
    Column("completed_at", Instant, nullable=False),
    Column("score", String(MARKS_DIGITS), nullable=True),
    Index(None, "entity_id"),
)

# Marks are canonical decimal strings ("95", "87.5"): exact, and already in the wire format.
manager_evaluations = Table(
    "manager_evaluations",
    metadata,
    Column("enrolment_id", Id, ForeignKey("enrolments.id"), primary_key=True),
    Column("awarded_marks", String(MARKS_DIGITS), nullable=False),
    Column("maximum_marks", String(MARKS_DIGITS), nullable=False),
    Column("evaluated_by", Id, ForeignKey("learners.id"), nullable=True),
    Column("evaluated_at", Instant, nullable=False),
)

api_users = Table(
    "api_users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("created_at", Instant, nullable=False),
)

# Only a SHA-256 of each token is stored. scopes: space-separated operations (READ CREATE ...).
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("user_id", Id, ForeignKey("api_users.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("scopes", String(100), nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("expires_at", Instant, nullable=True),
    Column("revoked_at", Instant, nullable=True),
)
