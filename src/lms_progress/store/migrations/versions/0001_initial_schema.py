"""Initial schema: organisation, catalogue, learners, enrolments with progress totals, tokens.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_users",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_users")),
    )
    op.create_table(
        "courses",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.SmallInteger(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("type IN (1, 2, 3)", name=op.f("ck_courses_type")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courses")),
    )
    op.create_table(
        "learners",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("image_url", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "manager_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=True
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["manager_id"], ["learners.id"], name=op.f("fk_learners_manager_id_learners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learners")),
    )
    op.create_table(
        "organisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_organisation_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation")),
    )
    op.bulk_insert(
        sa.table("organisation", sa.column("id", sa.Integer), sa.column("timezone", sa.String)),
        [{"id": 1, "timezone": "UTC"}],
    )
    op.create_table(
        "api_tokens",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["api_users.id"], name=op.f("fk_api_tokens_user_id_api_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)

    op.create_table(
        "batches",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "course_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.BigInteger(), nullable=True),
        sa.Column("ends_at", sa.BigInteger(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_batches_course_id_courses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
    )
    op.create_index(op.f("ix_batches_course_id"), "batches", ["course_id"], unique=False)

    op.create_table(
        "enrolments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "learner_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.Column(
            "course_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=True),
        sa.Column("enrolled_at", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=True),
        sa.Column("completed_at", sa.BigInteger(), nullable=True),
        sa.Column("completed_by_admin", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column("total_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("completed_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_completed_at", sa.BigInteger(), nullable=True),
        sa.Column(
            "mandatory_total_count", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column(
            "mandatory_completed_count", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("last_mandatory_completed_at", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "completed_count BETWEEN 0 AND total_count",
            name=op.f("ck_enrolments_completed_le_total"),
        ),
        sa.CheckConstraint(
            "mandatory_completed_count BETWEEN 0 AND mandatory_total_count",
            name=op.f("ck_enrolments_mandatory_completed_le_total"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_enrolments_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_enrolments_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"], ["learners.id"], name=op.f("fk_enrolments_learner_id_learners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolments")),
    )
    op.create_index(
        op.f("ix_enrolments_course_id_batch_id"),
        "enrolments",
        ["course_id", "batch_id"],
        unique=False,
    )
    op.create_index(
        "ix_enrolments_learner_page",
        "enrolments",
        ["learner_id", sa.text("enrolled_at DESC"), "course_id"],
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_index(
        "uq_enrolments_active",
        "enrolments",
        ["learner_id", "course_id"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )

    op.create_table(
        "modules",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "course_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("position", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_modules_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_modules_course_id_courses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_modules")),
    )
    op.create_index(
        op.f("ix_modules_course_id_batch_id"), "modules", ["course_id", "batch_id"], unique=False
    )

    op.create_table(
        "entities",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "module_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.Column(
            "course_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=True),
        sa.Column("entity_type", sa.SmallInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("mandatory", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("published", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("max_marks", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("entity_type BETWEEN 0 AND 9", name=op.f("ck_entities_entity_type")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_entities_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_entities_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["module_id"], ["modules.id"], name=op.f("fk_entities_module_id_modules")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entities")),
    )
    op.create_index(
        op.f("ix_entities_course_id_batch_id"), "entities", ["course_id", "batch_id"], unique=False
    )
    op.create_index(op.f("ix_entities_module_id"), "entities", ["module_id"], unique=False)

    op.create_table(
        "manager_evaluations",
        sa.Column(
            "enrolment_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.Column("awarded_marks", sa.String(length=32), nullable=False),
        sa.Column("maximum_marks", sa.String(length=32), nullable=False),
        sa.Column(
            "evaluated_by", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=True
        ),
        sa.Column("evaluated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolments.id"],
            name=op.f("fk_manager_evaluations_enrolment_id_enrolments"),
        ),
        sa.ForeignKeyConstraint(
            ["evaluated_by"],
            ["learners.id"],
            name=op.f("fk_manager_evaluations_evaluated_by_learners"),
        ),
        sa.PrimaryKeyConstraint("enrolment_id", name=op.f("pk_manager_evaluations")),
    )
    op.create_table(
        "entity_completions",
        sa.Column(
            "enrolment_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.Column(
            "entity_id", sa.BigInteger().with_variant(sa.INTEGER(), "sqlite"), nullable=False
        ),
        sa.Column("completed_at", sa.BigInteger(), nullable=False),
        sa.Column("score", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["enrolments.id"],
            name=op.f("fk_entity_completions_enrolment_id_enrolments"),
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"], ["entities.id"], name=op.f("fk_entity_completions_entity_id_entities")
        ),
        sa.PrimaryKeyConstraint("enrolment_id", "entity_id", name=op.f("pk_entity_completions")),
    )
    op.create_index(
        op.f("ix_entity_completions_entity_id"), "entity_completions", ["entity_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_entity_completions_entity_id"), table_name="entity_completions")

    op.drop_table("entity_completions")
    op.drop_table("manager_evaluations")
    op.drop_index(op.f("ix_entities_module_id"), table_name="entities")
    op.drop_index(op.f("ix_entities_course_id_batch_id"), table_name="entities")

    op.drop_table("entities")
    op.drop_index(op.f("ix_modules_course_id_batch_id"), table_name="modules")

    op.drop_table("modules")
    op.drop_index("ix_enrolments_learner_page", table_name="enrolments")
    op.drop_index(
        "uq_enrolments_active",
        table_name="enrolments",
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.drop_index(op.f("ix_enrolments_course_id_batch_id"), table_name="enrolments")

    op.drop_table("enrolments")
    op.drop_index(op.f("ix_batches_course_id"), table_name="batches")

    op.drop_table("batches")
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")

    op.drop_table("api_tokens")
    op.drop_table("organisation")
    op.drop_table("learners")
    op.drop_table("courses")
    op.drop_table("api_users")
