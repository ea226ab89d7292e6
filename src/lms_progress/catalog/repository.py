"""Writes to the catalogue. Every function runs inside the caller's transaction and keeps the
enrolments' totals true before it returns."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, select, update

from lms_progress.errors import ApiError, ErrorCode
from lms_progress.learning import totals
from lms_progress.progress.rules import canonical_marks
from lms_progress.store.schema import batches, courses, entities, entity_completions, modules
from lms_progress.store.schema import enrolments as e
from lms_progress.store.writes import insert_new, require_row

BLENDED = 2
SESSION = 5
# Zoho's entityType codes 0-9, as a message names them.
ENTITY_TYPES = (
    "offline test",
    "online test",
    "assignment",
    "file",
    "content item",
    "session",
    "link",
    "pre-learning test",
    "post-learning test",
    "feedback form",
)


def create_course(
    connection: Connection,
    *,
    name: str,
    course_type: int,
    now: int,
    description: str = "",
    course_id: int | None = None,
) -> int:
    if course_type not in (1, 2, 3):
        raise ApiError(ErrorCode.INVALID_PARAMETER, "type must be 1, 2 or 3")
    return insert_new(
        connection,
        courses,
        "course",
        {
            "id": course_id,
            "name": name,
            "type": course_type,
            "description": description,
            "created_at": now,
        },
    )


def create_batch(
    connection: Connection,
    *,
    course_id: int,
    name: str,
    now: int,
    starts_at: int | None = None,
    ends_at: int | None = None,
    capacity: int | None = None,
    batch_id: int | None = None,
) -> int:
    course = require_row(connection, courses, course_id, "course")
    if course.type != BLENDED:
        raise ApiError(ErrorCode.VALIDATION_FAILED, "only blended courses (type 2) have batches")
    if starts_at is not None and ends_at is not None and ends_at < starts_at:
        raise ApiError(ErrorCode.VALIDATION_FAILED, "a batch cannot end before it starts")
    return insert_new(
        connection,
        batches,
        "batch",
        {
            "id": batch_id,
            "course_id": course_id,
            "name": name,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "capacity": capacity,
            "created_at": now,
        },
    )


def require_batch_of(connection: Connection, course_id: int, batch_id: int) -> Any:
    batch = require_row(connection, batches, batch_id, "batch")
    if batch.course_id != course_id:
        raise ApiError(ErrorCode.NOT_FOUND, f"batch {batch_id} not found in course {course_id}")
    return batch


def create_module(
    connection: Connection,
    *,
    course_id: int,
    name: str,
    now: int,
    batch_id: int | None = None,
    description: str = "",
    position: int = 0,
    module_id: int | None = None,
) -> int:
    require_row(connection, courses, course_id, "course")
    if batch_id is not None:
        require_batch_of(connection, course_id, batch_id)
    return insert_new(
        connection,
        modules,
        "module",
        {
            "id": module_id,
            "course_id": course_id,
            "batch_id": batch_id,
            "name": name,
            "description": description,
            "position": position,
            "created_at": now,
        },
    )


def create_entity(
    connection: Connection,
    *,
    module_id: int,
    entity_type: int,
    name: str,
    now: int,
    mandatory: bool = True,
    published: bool = True,
    max_marks: object = None,
    entity_id: int | None = None,
) -> int:
    if not 0 <= entity_type <= 9:
        raise ApiError(ErrorCode.INVALID_PARAMETER, "entityType must be between 0 and 9")
    module = require_row(connection, modules, module_id, "module")
    course = totals.lock_course(connection, module.course_id, entities=True)
    if entity_type == SESSION and course.type != BLENDED:
        raise ApiError(
            ErrorCode.VALIDATION_FAILED, "sessions belong to blended courses (type 2) only"
        )
    try:
        marks = None if max_marks is None else canonical_marks(max_marks)
    except ValueError as exc:
        raise ApiError(ErrorCode.INVALID_PARAMETER, f"maximum marks {exc}") from None
    new = insert_new(
        connection,
        entities,
        "entity",
        {
            "id": entity_id,
            "module_id": module_id,
            "course_id": module.course_id,
            "batch_id": module.batch_id,
            "entity_type": entity_type,
            "name": name,
            "mandatory": mandatory,
            "published": published,
            "deleted": False,
            "max_marks": marks,
            "created_at": now,
        },
    )
    if published:
        _refresh_for(connection, module.course_id, module.batch_id)
    return new


def set_entity_state(
    connection: Connection,
    entity_id: int,
    *,
    published: bool | None = None,
    deleted: bool | None = None,
    mandatory: bool | None = None,
) -> None:
    """Publish, unpublish, delete (soft: completions are kept but no longer count) or change
    whether an entity is mandatory; the totals of every enrolment it applies to follow."""
    entity = require_row(connection, entities, entity_id, "entity")
    totals.lock_course(connection, entity.course_id, entities=True)
    entity = require_row(connection, entities, entity_id, "entity")  # as it is, now locked
    if entity.deleted:
        raise ApiError(ErrorCode.NOT_FOUND, f"entity {entity_id} not found")
    values = {
        key: value
        for key, value in (("published", published), ("deleted", deleted), ("mandatory", mandatory))
        if value is not None
    }
    if values:
        connection.execute(update(entities).where(entities.c.id == entity_id).values(**values))
        _refresh_for(connection, entity.course_id, entity.batch_id)


def _refresh_for(connection: Connection, course_id: int, batch_id: int | None) -> None:
    where = e.c.course_id == course_id
    if batch_id is not None:
        where = and_(where, e.c.batch_id == batch_id)
    totals.refresh(connection, where)


def _changes(**values: object) -> dict[str, object]:
    """The values actually given (None means "leave as it is")."""
    return {key: value for key, value in values.items() if value is not None}


def update_course(
    connection: Connection,
    course_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
    course_type: int | None = None,
) -> None:
    """Rename or redescribe a course. Its type is fixed once created: batches, modules and
    enrolments depend on it (Zoho's update call repeats the type, so the same type is accepted)."""
    course = require_row(connection, courses, course_id, "course")
    if course_type is not None and course_type != course.type:
        raise ApiError(ErrorCode.VALIDATION_FAILED, "the type of a course cannot be changed")
    values = _changes(name=name, description=description)
    if values:
        connection.execute(update(courses).where(courses.c.id == course_id).values(**values))


def update_batch(
    connection: Connection,
    course_id: int,
    batch_id: int,
    *,
    name: str | None = None,
    starts_at: int | None = None,
    ends_at: int | None = None,
    capacity: int | None = None,
) -> None:
    batch = require_batch_of(connection, course_id, batch_id)
    start = starts_at if starts_at is not None else batch.starts_at
    end = ends_at if ends_at is not None else batch.ends_at
    if start is not None and end is not None and end < start:
        raise ApiError(ErrorCode.VALIDATION_FAILED, "a batch cannot end before it starts")
    values = _changes(name=name, starts_at=starts_at, ends_at=ends_at, capacity=capacity)
    if values:
        connection.execute(update(batches).where(batches.c.id == batch_id).values(**values))


def _highest_score(connection: Connection, entity_id: int) -> str | None:
    """The highest score recorded for the entity, by value (the column holds text)."""
    scores = connection.execute(
        select(entity_completions.c.score).where(
            entity_completions.c.entity_id == entity_id, entity_completions.c.score.is_not(None)
        )
    ).scalars()
    return max(scores, key=Decimal, default=None)


def require_module_at(
    connection: Connection, course_id: int, batch_id: int | None, module_id: int
) -> Any:
    """The module, when it sits exactly where the path says: in that course, and in that batch
    (or in none); otherwise 404, so that a path never reaches a record of another course."""
    require_row(connection, courses, course_id, "course")
    if batch_id is not None:
        require_batch_of(connection, course_id, batch_id)
    module = require_row(connection, modules, module_id, "module")
    if module.course_id != course_id or module.batch_id != batch_id:
        where = f"batch {batch_id} of course {course_id}" if batch_id else f"course {course_id}"
        raise ApiError(ErrorCode.NOT_FOUND, f"module {module_id} not found in {where}")
    return module


def update_module(
    connection: Connection,
    course_id: int,
    batch_id: int | None,
    module_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
) -> None:
    require_module_at(connection, course_id, batch_id, module_id)
    values = _changes(name=name, description=description)
    if values:
        connection.execute(update(modules).where(modules.c.id == module_id).values(**values))


def require_entity_in(
    connection: Connection, module_id: int, entity_id: int, entity_type: int | None = None
) -> Any:
    """A live (not deleted) entity of that module, of that type when given; otherwise 404."""
    entity = require_row(connection, entities, entity_id, "entity")
    if entity.deleted or entity.module_id != module_id:
        raise ApiError(ErrorCode.NOT_FOUND, f"entity {entity_id} not found in module {module_id}")
    if entity_type is not None and entity.entity_type != entity_type:
        # Reached through another collection's path (.../sessions/{id} for an offline test).
        raise ApiError(
            ErrorCode.NOT_FOUND,
            f"entity {entity_id} is {_a(ENTITY_TYPES[entity.entity_type])}, "
            f"not {_a(ENTITY_TYPES[entity_type])}",
        )
    return entity


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def update_entity(
    connection: Connection,
    entity_id: int,
    *,
    name: str | None = None,
    mandatory: bool | None = None,
    published: bool | None = None,
    max_marks: str | None = None,
) -> None:
    """Rename an entity, change its marks, whether it is mandatory or published (the totals of
    every enrolment it applies to follow). Its maximum marks never go below a recorded score."""
    entity = require_row(connection, entities, entity_id, "entity")
    if max_marks is not None:
        # As a completion reads the maximum under its course's lock, a score recorded meanwhile
        # is either seen below or waits and then meets the new maximum.
        totals.lock_course(connection, entity.course_id, entities=True)
        entity = require_row(connection, entities, entity_id, "entity")  # as it is, now locked
    if entity.deleted:
        raise ApiError(ErrorCode.NOT_FOUND, f"entity {entity_id} not found")
    if max_marks is not None:
        highest = _highest_score(connection, entity_id)
        if highest is not None and Decimal(highest) > Decimal(max_marks):
            raise ApiError(
                ErrorCode.VALIDATION_FAILED,
                f"maximum marks {max_marks} are below a score already recorded for entity "
                f"{entity_id} (the highest is {highest})",
            )
    values = _changes(name=name, max_marks=max_marks)
    if values:
        connection.execute(update(entities).where(entities.c.id == entity_id).values(**values))
    mandatory = None if mandatory == entity.mandatory else mandatory
    published = None if published == entity.published else published
    if mandatory is not None or published is not None:
        set_entity_state(connection, entity_id, mandatory=mandatory, published=published)
