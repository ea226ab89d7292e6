"""Writes about learners and their learning. Each function runs in the caller's transaction and
leaves the enrolment's totals true."""

from __future__ import annotations

from datetime import UTC, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, update

from lms_progress.catalog.repository import BLENDED, require_batch_of
from lms_progress.errors import ApiError, ErrorCode
from lms_progress.ids import new_id
from lms_progress.learning import totals
from lms_progress.progress.rules import canonical_marks, format_date, local_date
from lms_progress.store.schema import enrolments as e
from lms_progress.store.schema import entities, entity_completions, learners
from lms_progress.store.schema import manager_evaluations as evaluations
from lms_progress.store.writes import insert_new, require_row


def create_learner(
    connection: Connection,
    *,
    name: str,
    now: int,
    email: str | None = None,
    image_url: str = "",
    manager_id: int | None = None,
    learner_id: int | None = None,
) -> int:
    if manager_id is not None:
        require_row(connection, learners, manager_id, "manager")
    return insert_new(
        connection,
        learners,
        "learner",
        {
            "id": learner_id,
            "name": name,
            "email": email,
            "image_url": image_url,
            "manager_id": manager_id,
            "active": True,
            "created_at": now,
        },
    )


def update_learner(
    connection: Connection,
    learner_id: int,
    *,
    name: str | None = None,
    email: str | None = None,
    image_url: str | None = None,
    manager_id: int | None = None,
    active: bool | None = None,
) -> None:
    """Change the given fields (None leaves a field as it is); `active=True` reactivates."""
    require_row(connection, learners, learner_id, "learner")
    if manager_id is not None:
        if manager_id == learner_id:
            raise ApiError(ErrorCode.VALIDATION_FAILED, "a learner cannot be their own manager")
        require_row(connection, learners, manager_id, "manager")
    values = {
        key: value
        for key, value in (
            ("name", name),
            ("email", email),
            ("image_url", image_url),
            ("manager_id", manager_id),
            ("active", active),
        )
        if value is not None
    }
    if values:
        connection.execute(update(learners).where(learners.c.id == learner_id).values(**values))


def deactivate_learner(connection: Connection, learner_id: int) -> bool:
    """Deactivate: the learner and their history stay readable, but they can be neither enrolled
    nor credited with completions until reactivated. False when inactive already."""
    row = require_row(connection, learners, learner_id, "learner")
    if not row.active:
        return False
    connection.execute(update(learners).where(learners.c.id == learner_id).values(active=False))
    return True


def require_active_learner(connection: Connection, learner_id: int) -> Any:
    row = require_row(connection, learners, learner_id, "learner")
    if not row.active:
        raise ApiError(ErrorCode.CONFLICT, f"learner {learner_id} is deactivated")
    return row


def active_enrolment(
    connection: Connection, learner_id: int, course_id: int, *, for_update: bool = False
) -> Any:
    query = select(e).where(
        e.c.learner_id == learner_id, e.c.course_id == course_id, e.c.ended_at.is_(None)
    )
    if for_update:
        query = query.with_for_update()
    row = connection.execute(query).one_or_none()
    if row is None:
        raise ApiError(
            ErrorCode.NOT_FOUND, f"learner {learner_id} is not enrolled in course {course_id}"
        )
    return row


def enrol(
    connection: Connection,
    *,
    learner_id: int,
    course_id: int,
    enrolled_at: int,
    batch_id: int | None = None,
) -> int:
    """Enrol a learner: a blended course needs a batch of its own, other courses take none.
    A new enrolment starts from nothing: completions of an earlier, ended one do not carry over."""
    course = totals.lock_course(connection, course_id)
    require_active_learner(connection, learner_id)
    if batch_id is not None:
        require_batch_of(connection, course_id, batch_id)
    if course.type == BLENDED:
        if batch_id is None:
            raise ApiError(ErrorCode.VALIDATION_FAILED, "a blended course needs a batchId")
    elif batch_id is not None:
        raise ApiError(ErrorCode.VALIDATION_FAILED, "only blended courses (type 2) have batches")
    already = connection.execute(
        select(e.c.id).where(
            e.c.learner_id == learner_id, e.c.course_id == course_id, e.c.ended_at.is_(None)
        )
    ).first()
    if already is not None:
        raise ApiError(
            ErrorCode.CONFLICT, f"learner {learner_id} is already enrolled in course {course_id}"
        )
    enrolment_id = new_id()
    connection.execute(
        insert(e).values(
            id=enrolment_id,
            learner_id=learner_id,
            course_id=course_id,
            batch_id=batch_id,
            enrolled_at=enrolled_at,
        )
    )
    totals.refresh(connection, e.c.id == enrolment_id)
    return enrolment_id


def _not_before_enrolment(what: str, at: int, enrolment: Any, zone: tzinfo) -> None:
    """Refuse an instant of the enrolment (its start, a completion) on a calendar day, in the
    organisation's `zone`, before the enrolment's: the row would read done before enrolled. The
    enrolment's own day is accepted, even before its time that day (DD-MM-YYYY is midnight)."""
    on, enrolled_on = local_date(at, zone), local_date(enrolment.enrolled_at, zone)
    if on < enrolled_on:
        raise ApiError(
            ErrorCode.VALIDATION_FAILED,
            f"the {what} ({format_date(on)}) must not be before the enrolment "
            f"({format_date(enrolled_on)})",
        )


def start(
    connection: Connection, *, learner_id: int, course_id: int, at: int, zone: tzinfo = UTC
) -> bool:
    """The learner opened the course: "In progress" from now on, even with nothing completed.
    Not on a day before the enrolment's. Idempotent: False when started already (the first
    start is kept)."""
    totals.lock_course(connection, course_id)
    row = active_enrolment(connection, learner_id, course_id, for_update=True)
    _not_before_enrolment("start", at, row, zone)
    if row.started_at is not None:
        return False
    connection.execute(update(e).where(e.c.id == row.id).values(started_at=at))
    return True


def complete_entity(
    connection: Connection,
    *,
    learner_id: int,
    entity_id: int,
    at: int,
    score: object = None,
    zone: tzinfo = UTC,
) -> bool:
    """Record that the learner completed an entity, not on a day before the enrolment's.
    Idempotent: a second completion of the same entity in the same enrolment changes nothing
    and returns False."""
    entity = require_row(connection, entities, entity_id, "entity")
    if entity.deleted:
        raise ApiError(ErrorCode.NOT_FOUND, f"entity {entity_id} not found")
    totals.lock_course(connection, entity.course_id)
    # Read the entity again now that its course is locked: a change to it (unpublish, delete,
    # mandatory) that committed meanwhile must be seen.
    entity = require_row(connection, entities, entity_id, "entity")
    require_active_learner(connection, learner_id)
    enrolment = active_enrolment(connection, learner_id, entity.course_id, for_update=True)
    if entity.deleted:
        raise ApiError(ErrorCode.NOT_FOUND, f"entity {entity_id} not found")
    if entity.batch_id is not None and entity.batch_id != enrolment.batch_id:
        raise ApiError(
            ErrorCode.NOT_FOUND,
            f"entity {entity_id} belongs to another batch than learner {learner_id}'s",
        )
    if not entity.published:
        raise ApiError(ErrorCode.CONFLICT, f"entity {entity_id} is not published")
    _not_before_enrolment("completion", at, enrolment, zone)
    try:
        canonical_score = None if score is None else canonical_marks(score)
    except ValueError as exc:
        raise ApiError(ErrorCode.INVALID_PARAMETER, f"score {exc}") from None
    if (
        canonical_score is not None
        and entity.max_marks is not None
        and Decimal(canonical_score) > Decimal(entity.max_marks)
    ):
        raise ApiError(
            ErrorCode.VALIDATION_FAILED,
            f"score {canonical_score} is above the maximum marks of entity {entity_id} "
            f"({entity.max_marks})",
        )
    exists = connection.execute(
        select(entity_completions.c.entity_id).where(
            entity_completions.c.enrolment_id == enrolment.id,
            entity_completions.c.entity_id == entity_id,
        )
    ).first()
    if exists is not None:
        return False
    connection.execute(
        insert(entity_completions).values(
            enrolment_id=enrolment.id, entity_id=entity_id, completed_at=at, score=canonical_score
        )
    )
    totals.record_completion(connection, enrolment, mandatory=entity.mandatory, completed_at=at)
    return True


def mark_complete(
    connection: Connection, *, learner_id: int, course_id: int, at: int, zone: tzinfo = UTC
) -> bool:
    """An admin marks the enrolment complete, whatever its counts say. Not on a day before the
    enrolment's. Idempotent: False when complete already (the first completion is kept)."""
    totals.lock_course(connection, course_id)
    require_active_learner(connection, learner_id)
    row = active_enrolment(connection, learner_id, course_id, for_update=True)
    _not_before_enrolment("completion", at, row, zone)
    if row.completed_at is not None:
        return False
    connection.execute(
        update(e)
        .where(e.c.id == row.id)
        .values(
            completed_at=at,
            completed_by_admin=True,
            # Started no later than completed, as a completed entity moves the start too.
            started_at=at if row.started_at is None else min(row.started_at, at),
        )
    )
    return True


def evaluate(
    connection: Connection,
    *,
    learner_id: int,
    course_id: int,
    awarded: object,
    maximum: object,
    at: int,
    evaluated_by: int | None = None,
) -> None:
    """Record (or replace) the manager's evaluation of an enrolment."""
    try:
        awarded_text = canonical_marks(awarded)
    except ValueError as exc:
        raise ApiError(ErrorCode.INVALID_PARAMETER, f"awarded marks {exc}") from None
    try:
        maximum_text = canonical_marks(maximum)
    except ValueError as exc:
        raise ApiError(ErrorCode.INVALID_PARAMETER, f"maximum marks {exc}") from None
    if Decimal(maximum_text) <= 0 or Decimal(awarded_text) > Decimal(maximum_text):
        raise ApiError(
            ErrorCode.VALIDATION_FAILED,
            "awarded marks must be between 0 and the maximum marks, and the maximum above 0",
        )
    row = active_enrolment(connection, learner_id, course_id)
    if evaluated_by is not None:
        require_row(connection, learners, evaluated_by, "evaluator")
    values = {
        "awarded_marks": awarded_text,
        "maximum_marks": maximum_text,
        "evaluated_by": evaluated_by,
        "evaluated_at": at,
    }
    updated = connection.execute(
        update(evaluations).where(evaluations.c.enrolment_id == row.id).values(**values)
    )
    if updated.rowcount == 0:
        connection.execute(insert(evaluations).values(enrolment_id=row.id, **values))


def unenrol(connection: Connection, *, learner_id: int, course_id: int, at: int) -> None:
    """End the enrolment: it is no longer listed, and a later enrolment starts afresh."""
    totals.lock_course(connection, course_id)
    row = active_enrolment(connection, learner_id, course_id, for_update=True)
    connection.execute(update(e).where(e.c.id == row.id).values(ended_at=at))


def move_batch(connection: Connection, *, learner_id: int, course_id: int, batch_id: int) -> bool:
    """Move a learner to another batch of the same blended course. The enrolment row stays the
    same one (one row per course, never two); its totals are recounted for the new batch:
    completions of the course's own entities still count, those of the old batch's entities no
    longer do (they are kept, and count again if the learner moves back). A completed enrolment
    stays completed. False when the learner is in that batch already."""
    totals.lock_course(connection, course_id)
    row = active_enrolment(connection, learner_id, course_id, for_update=True)
    require_batch_of(connection, course_id, batch_id)
    if row.batch_id == batch_id:
        return False
    connection.execute(update(e).where(e.c.id == row.id).values(batch_id=batch_id))
    totals.refresh(connection, e.c.id == row.id)
    return True
