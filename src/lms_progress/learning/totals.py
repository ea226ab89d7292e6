"""Keeping the per-enrolment progress totals true, inside the caller's write transaction.

Two ways, same result (a test holds them equal): `record_completion` adds one completion to one
enrolment incrementally (the common write, and the import's), and `refresh` recounts a set of
enrolments from their rows, for writes that change what applies to many enrolments at once
(entities added, unpublished or deleted, a batch move).

Concurrent writes stay exact through one rule, `lock_course`: every write that changes a course's
entities or one of its enrolments locks the course row first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select, update

from lms_progress.errors import ApiError, ErrorCode
from lms_progress.store.schema import courses
from lms_progress.store.schema import enrolments as e
from lms_progress.store.schema import entities as en
from lms_progress.store.schema import entity_completions as c


def lock_course(connection: Connection, course_id: int, *, entities: bool = False) -> Any:
    """Lock the course for a write that changes what its enrolments count, before anything else
    the write locks; return its row (404 when there is none).

    `entities=True` (adding, publishing, unpublishing, deleting an entity, or changing whether it
    is mandatory) takes the lock alone; a write about one enrolment (enrol, move, complete...)
    shares it with others of its kind, which lock their own enrolment row next. Without it, on
    PostgreSQL (READ COMMITTED) an enrolment and an entity created at the same moment would each
    commit without seeing the other, and the enrolment would never count that entity. Taken
    first, and only one course per write, so no two writes wait on each other in a circle.
    (SQLite serialises its writers already, and omits FOR SHARE / FOR UPDATE.)
    """
    query = select(courses).where(courses.c.id == course_id)
    row = connection.execute(query.with_for_update(read=not entities)).one_or_none()
    if row is None:
        raise ApiError(ErrorCode.NOT_FOUND, f"course {course_id} not found")
    return row


def _applies(entity: Any = en) -> ColumnElement[bool]:
    """The entity counts for the enrolment `e`: the course's own, or of the enrolment's batch."""
    return and_(
        entity.c.course_id == e.c.course_id,
        or_(entity.c.batch_id.is_(None), entity.c.batch_id == e.c.batch_id),
        entity.c.published.is_(True),
        entity.c.deleted.is_(False),
    )


def _count_entities(mandatory_only: bool) -> Any:
    cond = _applies()
    if mandatory_only:
        cond = and_(cond, en.c.mandatory.is_(True))
    return select(func.count()).select_from(en).where(cond).scalar_subquery()


def _completions(aggregate: Any, mandatory_only: bool) -> Any:
    cond = and_(c.c.enrolment_id == e.c.id, _applies())
    if mandatory_only:
        cond = and_(cond, en.c.mandatory.is_(True))
    return (
        select(aggregate)
        .select_from(c.join(en, en.c.id == c.c.entity_id))
        .where(cond)
        .scalar_subquery()
    )


def refresh(connection: Connection, where: ColumnElement[bool]) -> None:
    """Recount the totals of the active enrolments that match `where` (of one course, under
    `lock_course`), then complete those that are now fully done. Completion is never undone
    here: a completed enrolment stays completed when entities are added later (its counts show
    the new entities)."""
    active = and_(where, e.c.ended_at.is_(None))
    # The caller holds the course (`lock_course`): no other write can be changing these rows or
    # their completions, so the UPDATE's snapshot is the whole truth.
    connection.execute(
        update(e)
        .where(active)
        .values(
            total_count=_count_entities(False),
            mandatory_total_count=_count_entities(True),
            completed_count=_completions(func.count(), False),
            mandatory_completed_count=_completions(func.count(), True),
            last_completed_at=_completions(func.max(c.c.completed_at), False),
            last_mandatory_completed_at=_completions(func.max(c.c.completed_at), True),
        )
    )
    complete_when_all_done(connection, active)


def complete_when_all_done(connection: Connection, where: ColumnElement[bool]) -> None:
    connection.execute(
        update(e)
        .where(
            where,
            e.c.completed_at.is_(None),
            e.c.total_count > 0,
            e.c.completed_count == e.c.total_count,
        )
        .values(completed_at=e.c.last_completed_at)
    )


def record_completion(
    connection: Connection, enrolment: Any, *, mandatory: bool, completed_at: int
) -> None:
    """Account for one new completion of an applicable entity in the `enrolment` row (read
    FOR UPDATE by the caller in the same transaction)."""
    done = enrolment.completed_count + 1
    last = max(enrolment.last_completed_at or completed_at, completed_at)
    values: dict[str, Any] = {
        "completed_count": done,
        "last_completed_at": last,
    }
    if mandatory:
        values["mandatory_completed_count"] = enrolment.mandatory_completed_count + 1
        values["last_mandatory_completed_at"] = max(
            enrolment.last_mandatory_completed_at or completed_at, completed_at
        )
    if enrolment.started_at is None or enrolment.started_at > completed_at:
        values["started_at"] = completed_at
    if enrolment.completed_at is None and done >= enrolment.total_count:
        values["completed_at"] = last
    connection.execute(update(e).where(e.c.id == enrolment.id).values(**values))
