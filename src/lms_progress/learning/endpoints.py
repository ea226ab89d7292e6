"""Writes about learners and their learning. Zoho documents none of these calls; their design
is ours (docs/api.md, "Writes"), in Zoho's style: a JSON object named after the resource
(`learnerData`, `enrolmentData`, `completionData`, `evaluationData`) in the query, a form or the
body.
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from lms_progress import validation
from lms_progress.http.body import (
    BOOLEAN,
    ID,
    INSTANT,
    MARKS,
    NAME,
    Schema,
    documented,
    resource_data,
)
from lms_progress.http.fields import Fields
from lms_progress.http.guard import CreateAccess, DeleteAccess, UpdateAccess
from lms_progress.http.paths import batch_id, context, not_in_future, now, path_id
from lms_progress.http.writes import success, transact
from lms_progress.learning import repository as learning
from lms_progress.validation import EMAIL_MAX, URL_MAX

router = APIRouter(tags=["learning"])

LEARNER_FIELDS: dict[str, Schema] = {
    "name": NAME,
    "email": {"type": "string", "maxLength": EMAIL_MAX, "format": "email"},
    "imageURL": {
        "type": "string",
        "maxLength": URL_MAX,
        "description": 'an http or https URL, or "" for none',
    },
    "managerId": ID,
}

LEARNER = "/api/v1/learners/{learnerId}"
ENROLMENT = "/api/v1/courses/{courseId}/learners/{learnerId}"
BATCH_ENROLMENT = "/api/v1/courses/{courseId}/batches/{batchId}/learners/{learnerId}"


async def _fields(request: Request, name: str, *, required: bool = True) -> Fields:
    data = await resource_data(request, name, required=required)
    return Fields(data, name, context(request).zone)


@router.post(
    "/api/v1/learners",
    summary="Create a learner (learnerData)",
    openapi_extra=documented("learnerData", {**LEARNER_FIELDS, "id": ID}, ("name",)),
)
async def create_learner(request: Request, _principal: CreateAccess) -> Response:
    ctx = context(request)
    f = await _fields(request, "learnerData")
    name = f.text("name", required=True)
    email = f.checked("email", validation.email)
    image_url = f.checked("imageURL", validation.image_url) or ""
    manager_id = f.record_id("managerId")
    given = f.record_id("id")
    learner_id = await transact(
        ctx,
        lambda c: learning.create_learner(
            c,
            name=name,
            email=email,
            image_url=image_url,
            manager_id=manager_id,
            now=now(ctx),
            learner_id=given,
        ),
    )
    return success({"learnerId": learner_id})


@router.patch(
    LEARNER,
    summary="Update or reactivate a learner (learnerData)",
    openapi_extra=documented("learnerData", {**LEARNER_FIELDS, "active": BOOLEAN}),
)
async def update_learner(request: Request, _principal: UpdateAccess) -> Response:
    ctx = context(request)
    learner_id = path_id(request, "learnerId")
    f = await _fields(request, "learnerData")
    name = f.text("name")
    email = f.checked("email", validation.email)
    image_url = f.checked("imageURL", validation.image_url)  # "": none
    manager_id = f.record_id("managerId")
    active = f.boolean("active")
    await transact(
        ctx,
        lambda c: learning.update_learner(
            c,
            learner_id,
            name=name,
            email=email,
            image_url=image_url,
            manager_id=manager_id,
            active=active,
        ),
    )
    return success({"learnerId": learner_id})


@router.delete(LEARNER, summary="Deactivate a learner (kept, with their history)")
async def deactivate_learner(request: Request, _principal: DeleteAccess) -> Response:
    ctx = context(request)
    learner_id = path_id(request, "learnerId")
    changed = await transact(ctx, lambda c: learning.deactivate_learner(c, learner_id))
    return success(
        {"learnerId": learner_id, "active": False},
        "deactivated" if changed else "already deactivated",
    )


async def enrol(request: Request, _principal: CreateAccess) -> Response:
    ctx = context(request)
    course_id, batch = path_id(request, "courseId"), batch_id(request)
    learner_id = path_id(request, "learnerId")
    f = await _fields(request, "enrolmentData", required=False)
    enrolled_at = not_in_future(ctx, f.instant("enrolledAt"), "enrolmentData.enrolledAt")
    await transact(
        ctx,
        lambda c: learning.enrol(
            c, learner_id=learner_id, course_id=course_id, batch_id=batch, enrolled_at=enrolled_at
        ),
    )
    return success({"courseId": course_id, "batchId": batch, "learnerId": learner_id}, "enrolled")


for _base in (ENROLMENT, BATCH_ENROLMENT):
    router.add_api_route(
        _base + "/enrolment",
        enrol,
        methods=["POST"],
        summary="Enrol a learner in a course or a batch (enrolmentData, optional)",
        openapi_extra=documented("enrolmentData", {"enrolledAt": INSTANT}),
        name="enrol" + ("_in_batch" if "batchId" in _base else ""),
    )


@router.delete(ENROLMENT + "/enrolment", summary="Unenrol a learner from a course")
async def unenrol(request: Request, _principal: DeleteAccess) -> Response:
    ctx = context(request)
    course_id, learner_id = path_id(request, "courseId"), path_id(request, "learnerId")
    await transact(
        ctx,
        lambda c: learning.unenrol(c, learner_id=learner_id, course_id=course_id, at=now(ctx)),
    )
    return success({"courseId": course_id, "learnerId": learner_id}, "unenrolled")


@router.post(BATCH_ENROLMENT + "/move", summary="Move a learner to this batch of the course")
async def move_batch(request: Request, _principal: UpdateAccess) -> Response:
    ctx = context(request)
    course_id, learner_id = path_id(request, "courseId"), path_id(request, "learnerId")
    batch = path_id(request, "batchId")
    moved = await transact(
        ctx,
        lambda c: learning.move_batch(
            c, learner_id=learner_id, course_id=course_id, batch_id=batch
        ),
    )
    return success(
        {"courseId": course_id, "batchId": batch, "learnerId": learner_id, "moved": moved},
        "moved" if moved else "already in this batch",
    )


@router.post(
    ENROLMENT + "/start",
    summary="Mark a course started (enrolmentData, optional)",
    openapi_extra=documented("enrolmentData", {"startedAt": INSTANT}),
)
async def start(request: Request, _principal: UpdateAccess) -> Response:
    ctx = context(request)
    course_id, learner_id = path_id(request, "courseId"), path_id(request, "learnerId")
    f = await _fields(request, "enrolmentData", required=False)
    at = not_in_future(ctx, f.instant("startedAt"), "enrolmentData.startedAt")
    recorded = await transact(
        ctx,
        lambda c: learning.start(
            c, learner_id=learner_id, course_id=course_id, at=at, zone=ctx.zone
        ),
    )
    return success(
        {"courseId": course_id, "learnerId": learner_id, "recorded": recorded},
        "started" if recorded else "already started",
    )


@router.post(
    ENROLMENT + "/complete",
    summary="Mark an enrolment complete (admin; enrolmentData, optional)",
    openapi_extra=documented("enrolmentData", {"completedAt": INSTANT}),
)
async def mark_complete(request: Request, _principal: UpdateAccess) -> Response:
    ctx = context(request)
    course_id, learner_id = path_id(request, "courseId"), path_id(request, "learnerId")
    f = await _fields(request, "enrolmentData", required=False)
    at = not_in_future(ctx, f.instant("completedAt"), "enrolmentData.completedAt")
    recorded = await transact(
        ctx,
        lambda c: learning.mark_complete(
            c, learner_id=learner_id, course_id=course_id, at=at, zone=ctx.zone
        ),
    )
    return success(
        {"courseId": course_id, "learnerId": learner_id, "recorded": recorded},
        "completed" if recorded else "already completed",
    )


@router.put(
    ENROLMENT + "/evaluation",
    summary="Record the manager's evaluation (evaluationData)",
    openapi_extra=documented(
        "evaluationData",
        {"awardedMarks": MARKS, "maximumMarks": MARKS, "evaluatedBy": ID},
        ("awardedMarks", "maximumMarks"),
    ),
)
async def evaluate(request: Request, _principal: UpdateAccess) -> Response:
    ctx = context(request)
    course_id, learner_id = path_id(request, "courseId"), path_id(request, "learnerId")
    f = await _fields(request, "evaluationData")
    awarded = f.marks("awardedMarks", required=True)
    maximum = f.marks("maximumMarks", required=True)
    evaluated_by = f.record_id("evaluatedBy")
    await transact(
        ctx,
        lambda c: learning.evaluate(
            c,
            learner_id=learner_id,
            course_id=course_id,
            awarded=awarded,
            maximum=maximum,
            evaluated_by=evaluated_by,
            at=now(ctx),
        ),
    )
    return success({"courseId": course_id, "learnerId": learner_id}, "evaluated")


@router.post(
    LEARNER + "/entities/{entityId}/completion",
    summary="Complete an entity (idempotent; completionData, optional)",
    openapi_extra=documented("completionData", {"completedAt": INSTANT, "score": MARKS}),
)
async def complete_entity(request: Request, _principal: CreateAccess) -> Response:
    ctx = context(request)
    learner_id, entity_id = path_id(request, "learnerId"), path_id(request, "entityId")
    f = await _fields(request, "completionData", required=False)
    at = not_in_future(ctx, f.instant("completedAt"), "completionData.completedAt")
    score = f.marks("score")

    def work(c: Connection) -> bool:
        return learning.complete_entity(
            c, learner_id=learner_id, entity_id=entity_id, at=at, score=score, zone=ctx.zone
        )

    recorded = await transact(ctx, work)
    return success(
        {"learnerId": learner_id, "entityId": entity_id, "recorded": recorded},
        "completed" if recorded else "already completed",
    )
