"""The progress answers (P1, P2) as bytes: parameters in, JSON body out, ApiError otherwise.

Both the FastAPI routes (endpoints.py) and the ASGI fast path (fastpath.py) call these, after the
guard has admitted the caller.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, tzinfo
from typing import Any

import orjson

from lms_progress.context import AppContext
from lms_progress.errors import ApiError, ErrorCode
from lms_progress.http import params
from lms_progress.progress import repository as col
from lms_progress.progress.repository import LearnerPage
from lms_progress.progress.rules import (
    COURSE_TYPES,
    completed_in,
    completion_percentage,
    completion_status,
    format_date,
    local_date,
)

# Route templates: the OpenAPI paths, and the "API" the rate limit counts per user.
P1 = "/api/v1/learners/{learnerId}/course-progress"
P2_COURSE = "/api/v1/courses/{courseId}/learners/{learnerId}/course-progress"
P2_BATCH = "/api/v1/courses/{courseId}/batches/{batchId}/learners/{learnerId}/course-progress"


def progress_row(row: tuple[Any, ...], zone: tzinfo, mandatory_only: bool) -> dict[str, Any]:
    """One `courseProgress` item, keys in the seed's order."""
    if mandatory_only:
        total, done, last = (
            row[col.MANDATORY_TOTAL],
            row[col.MANDATORY_COMPLETED],
            row[col.LAST_MANDATORY_COMPLETED_AT],
        )
    else:
        total, done, last = row[col.TOTAL], row[col.COMPLETED], row[col.LAST_COMPLETED_AT]
    completed_at = row[col.COMPLETED_AT]
    enrolled = local_date(row[col.ENROLLED_AT], zone)
    completed_on: date | None = None
    until: date | None = None  # for completedIn: the completion date, else the latest completion
    if completed_at is not None:
        completed_on = until = local_date(completed_at, zone)
    elif last is not None:
        until = local_date(last, zone)
    batch_id = row[col.BATCH_ID]
    course_type = row[col.TYPE]
    awarded = row[col.AWARDED]
    return {
        "batchName": row[col.BATCH_NAME] if batch_id is not None else "",
        "courseType": COURSE_TYPES[course_type],
        "totalEntitiesCount": total,
        "enrolledDate": format_date(enrolled),
        "batchId": batch_id if batch_id is not None else "",
        "type": course_type,
        "completedIn": completed_in(enrolled, until),
        "completedEntitiesCount": done,
        "completionPercentage": completion_percentage(done, total),
        "courseName": row[col.COURSE_NAME],
        "managerEvaluationTotalMarks": awarded if awarded is not None else "",
        "managerEvaluationMarks": row[col.MAXIMUM] if awarded is not None else "",
        "completionDate": format_date(completed_on) if completed_on else "",
        "completionStatus": completion_status(
            completed=completed_at is not None,
            started=row[col.STARTED_AT] is not None,
            completed_count=done,
        ),
        "courseId": row[col.COURSE_ID],
    }


def render(
    learner_id: int, page: LearnerPage, limit: int, zone: tzinfo, mandatory_only: bool = False
) -> bytes:
    rows = page.rows
    return orjson.dumps(
        {
            "courseProgress": [progress_row(r, zone, mandatory_only) for r in rows[:limit]],
            "code": 200,
            "learnerId": str(learner_id),
            "learnerName": page.name,
            "learnerImageURL": page.image_url,
            "hasMoreRecords": len(rows) > limit,
            "status": "success",
        }
    )


def learner_progress(ctx: AppContext, learner_text: str, start_text: str | None) -> bytes:
    """P1: one page of a learner's courses."""
    learner_id = params.path_id(learner_text, "learnerId")
    offset = params.start_index(start_text)
    limit = ctx.settings.page_size
    page = ctx.progress.learner_page(learner_id, offset=offset, limit=limit)
    if page is None:
        raise ApiError(ErrorCode.NOT_FOUND, f"learner {learner_id} not found")
    return render(learner_id, page, limit, ctx.zone)


def course_progress(
    ctx: AppContext,
    learner_text: str,
    course_text: str,
    batch_text: str | None,
    start_text: str | None,
    progress_type: str | None,
) -> bytes:
    """P2: the learner's row for one course (and batch)."""
    course_id = params.path_id(course_text, "courseId")
    # Zoho: batch id 0 stands for "no batch" (a self-paced course) where a path needs one.
    batch_id = None if batch_text in (None, "0") else params.path_id(batch_text, "batchId")
    learner_id = params.path_id(learner_text, "learnerId")
    offset = params.start_index(start_text)
    mandatory_only = params.choice(progress_type, "progressType", (0, 1), 0) == 1
    limit = ctx.settings.page_size
    # At most one active enrolment matches, so read it whole and apply the offset here: that
    # keeps "not enrolled" (404) apart from "past the end" (200, empty) at any startIndex.
    page = ctx.progress.learner_page(
        learner_id, offset=0, limit=limit, course_id=course_id, batch_id=batch_id
    )
    rows = page.rows if page is not None else []
    if batch_text == "0":
        rows = [r for r in rows if r[col.BATCH_ID] is None]
    if page is None or not rows:
        _explain_not_found(ctx, learner_id, course_id, batch_id, batch_text, page is None)
    assert page is not None
    return render(learner_id, replace(page, rows=rows[offset:]), limit, ctx.zone, mandatory_only)


def _explain_not_found(
    ctx: AppContext,
    learner_id: int,
    course_id: int,
    batch_id: int | None,
    batch_text: str | None,
    no_learner: bool,
) -> None:
    """Say which of learner, course, batch or enrolment is missing (only on the error path)."""
    if not ctx.progress.course_exists(course_id):
        raise ApiError(ErrorCode.NOT_FOUND, f"course {course_id} not found")
    if batch_id is not None and ctx.progress.batch_course(batch_id) != course_id:
        raise ApiError(ErrorCode.NOT_FOUND, f"batch {batch_id} not found in course {course_id}")
    if no_learner:
        raise ApiError(ErrorCode.NOT_FOUND, f"learner {learner_id} not found")
    if batch_text is not None:
        # Enrolled in the course, but in another batch than the path's (or in one, for batch 0)?
        page = ctx.progress.learner_page(learner_id, offset=0, limit=1, course_id=course_id)
        if page is not None and page.rows:
            held = page.rows[0][col.BATCH_ID]
            where = f"batch {held} of course {course_id}" if held else f"course {course_id}"
            asked = f"in batch {batch_id}" if batch_id else "without a batch"
            raise ApiError(
                ErrorCode.NOT_FOUND, f"learner {learner_id} is enrolled in {where}, not {asked}"
            )
    where = f"batch {batch_id} of course {course_id}" if batch_id else f"course {course_id}"
    raise ApiError(ErrorCode.NOT_FOUND, f"learner {learner_id} is not enrolled in {where}")
