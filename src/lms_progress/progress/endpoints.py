"""The progress routes, P1 (the seed) and P2. They define the OpenAPI description and serve
whatever the fast path (fastpath.py) leaves to the framework; both answer through service.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from lms_progress.http.guard import ReadAccess
from lms_progress.progress import service
from lms_progress.progress.service import P1, P2_BATCH, P2_COURSE

router = APIRouter(tags=["progress"])

JSON = "application/json"
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text}
    for code, text in (
        (400, "Invalid parameter value (7201) or wrong data type (7204)"),
        (401, "Missing (7210) or invalid, expired or revoked token (7211)"),
        (403, "The token lacks the READ scope (7218)"),
        (404, "Unknown learner, course or batch, or not enrolled there (7301)"),
        (429, "Threshold lock (7209), with Retry-After"),
    )
}
START_INDEX = Query(default=None, description="0-based record offset (default 0)")
PROGRESS_TYPE = Query(
    default=None, description="0: all entities (default); 1: mandatory entities only"
)


@router.get(P1, summary="Single learner, all course progress (P1)", responses=_ERRORS)
async def learner_course_progress(
    request: Request,
    _principal: ReadAccess,
    learnerId: str,  # Zoho's parameter names
    startIndex: str | None = START_INDEX,
) -> Response:
    body = service.learner_progress(request.app.state.ctx, learnerId, startIndex)
    return Response(body, media_type=JSON)


@router.get(P2_COURSE, summary="One learner's progress in one course (P2)", responses=_ERRORS)
async def course_learner_progress(
    request: Request,
    _principal: ReadAccess,
    courseId: str,
    learnerId: str,
    startIndex: str | None = START_INDEX,
    progressType: str | None = PROGRESS_TYPE,
) -> Response:
    body = service.course_progress(
        request.app.state.ctx, learnerId, courseId, None, startIndex, progressType
    )
    return Response(body, media_type=JSON)


@router.get(
    P2_BATCH, summary="One learner's progress in one batch of a course (P2)", responses=_ERRORS
)
async def batch_learner_progress(
    request: Request,
    _principal: ReadAccess,
    courseId: str,
    batchId: str,
    learnerId: str,
    startIndex: str | None = START_INDEX,
    progressType: str | None = PROGRESS_TYPE,
) -> Response:
    body = service.course_progress(
        request.app.state.ctx, learnerId, courseId, batchId, startIndex, progressType
    )
    return Response(body, media_type=JSON)
