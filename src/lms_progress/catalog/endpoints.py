"""Writes to the catalogue, shaped as Zoho documents them: courses (`courseData`), batches
(`batchData`), modules (`moduleData`) and the entities of a module (`fileData`, `linkData`, ...),
under both path forms (with and without `/batches/{batchId}`). Unpublishing and deleting an entity
are ours. Every call runs in one transaction (http/writes.py) and keeps the progress totals true.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from lms_progress.catalog import repository as catalog
from lms_progress.http.body import (
    BOOLEAN,
    DAY,
    ID,
    MARKS,
    NAME,
    TEXT,
    Schema,
    documented,
    resource_data,
)
from lms_progress.http.fields import Fields
from lms_progress.http.guard import CreateAccess, DeleteAccess, UpdateAccess
from lms_progress.http.paths import batch_id, context, now, path_id
from lms_progress.http.writes import success, transact
from lms_progress.validation import CAPACITY_MAX, TEXT_MAX

router = APIRouter(tags=["catalog"])

COURSE = "/api/v1/courses/{courseId}"
MODULE_BASES = ("/api/v1/courses/{courseId}", "/api/v1/courses/{courseId}/batches/{batchId}")


async def _fields(request: Request, name: str) -> Fields:
    return Fields(await resource_data(request, name), name, context(request).zone)


COURSE_FIELDS: dict[str, Schema] = {
    "name": NAME,
    "type": {"type": "integer", "enum": [1, 2, 3]},
    "description": TEXT,
}
BATCH_FIELDS: dict[str, Schema] = {
    "name": NAME,
    "startDate": DAY,
    "endDate": DAY,
    "maximumCapacity": {"type": "integer", "minimum": 0, "maximum": CAPACITY_MAX},
}
MODULE_FIELDS: dict[str, Schema] = {"name": NAME, "description": TEXT}


@router.post(
    "/api/v1/courses",
    summary="Create a course (courseData)",
    openapi_extra=documented("courseData", {**COURSE_FIELDS, "id": ID}, ("name", "type")),
)
async def create_course(request: Request, _principal: CreateAccess) -> Response:
    ctx = context(request)
    f = await _fields(request, "courseData")
    name = f.text("name", required=True)
    course_type = f.integer("type", required=True, low=1, high=3)
    description = f.text("description", max_length=TEXT_MAX, blank=True) or ""
    given = f.record_id("id")
    course_id = await transact(
        ctx,
        lambda c: catalog.create_course(
            c,
            name=name,
            course_type=course_type,
            description=description,
            now=now(ctx),
            course_id=given,
        ),
    )
    return success({"courseId": course_id})


@router.patch(
    COURSE,
    summary="Update a course (courseData)",
    openapi_extra=documented("courseData", COURSE_FIELDS),
)
async def update_course(request: Request, _principal: UpdateAccess) -> Response:
    ctx = context(request)
    course_id = path_id(request, "courseId")
    f = await _fields(request, "courseData")
    name = f.text("name")
    course_type = f.integer("type", low=1, high=3)
    description = f.text("description", max_length=TEXT_MAX, blank=True)
    await transact(
        ctx,
        lambda c: catalog.update_course(
            c, course_id, name=name, description=description, course_type=course_type
        ),
    )
    return success({"courseId": course_id})


@router.post(
    COURSE + "/batches",
    summary="Create a batch of a blended course (batchData)",
    openapi_extra=documented("batchData", {**BATCH_FIELDS, "id": ID}, ("name",)),
)
async def create_batch(request: Request, _principal: CreateAccess) -> Response:
    ctx = context(request)
    course_id = path_id(request, "courseId")
    f = await _fields(request, "batchData")
    name = f.text("name", required=True)
    starts_at, ends_at = f.instant("startDate"), f.instant("endDate")
    capacity = f.integer("maximumCapacity", low=0, high=CAPACITY_MAX)
    given = f.record_id("id")
    new = await transact(
        ctx,
        lambda c: catalog.create_batch(
            c,
            course_id=course_id,
            name=name,
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=capacity,
            now=now(ctx),
            batch_id=given,
        ),
    )
    return success({"courseId": course_id, "batchId": new})


@router.patch(
    COURSE + "/batches/{batchId}",
    summary="Update a batch (batchData)",
    openapi_extra=documented("batchData", BATCH_FIELDS),
)
async def update_batch(request: Request, _principal: UpdateAccess) -> Response:
    ctx = context(request)
    course_id = path_id(request, "courseId")
    batch = path_id(request, "batchId")
    f = await _fields(request, "batchData")
    name = f.text("name")
    starts_at, ends_at = f.instant("startDate"), f.instant("endDate")
    capacity = f.integer("maximumCapacity", low=0, high=CAPACITY_MAX)
    await transact(
        ctx,
        lambda c: catalog.update_batch(
            c,
            course_id,
            batch,
            name=name,
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=capacity,
        ),
    )
    return success({"courseId": course_id, "batchId": batch})


async def create_module(request: Request, _principal: CreateAccess) -> Response:
    ctx = context(request)
    course_id, batch = path_id(request, "courseId"), batch_id(request)
    f = await _fields(request, "moduleData")
    name = f.text("name", required=True)
    description = f.text("description", max_length=TEXT_MAX, blank=True) or ""
    given = f.record_id("id")
    new = await transact(
        ctx,
        lambda c: catalog.create_module(
            c,
            course_id=course_id,
            batch_id=batch,
            name=name,
            description=description,
            now=now(ctx),
            module_id=given,
        ),
    )
    return success({"courseId": course_id, "batchId": batch, "moduleId": new})


async def update_module(request: Request, _principal: UpdateAccess) -> Response:
    ctx = context(request)
    course_id, batch = path_id(request, "courseId"), batch_id(request)
    module_id = path_id(request, "moduleId")
    f = await _fields(request, "moduleData")
    name = f.text("name")
    description = f.text("description", max_length=TEXT_MAX, blank=True)
    await transact(
        ctx,
        lambda c: catalog.update_module(
            c, course_id, batch, module_id, name=name, description=description
        ),
    )
    return success({"courseId": course_id, "batchId": batch, "moduleId": module_id})


for _base in MODULE_BASES:
    router.add_api_route(
        _base + "/modules",
        create_module,
        methods=["POST"],
        summary="Create a module (moduleData)",
        openapi_extra=documented("moduleData", {**MODULE_FIELDS, "id": ID}, ("name",)),
    )
    router.add_api_route(
        _base + "/modules/{moduleId}",
        update_module,
        methods=["PATCH"],
        summary="Update a module (moduleData)",
        openapi_extra=documented("moduleData", MODULE_FIELDS),
    )


@dataclass(frozen=True, slots=True)
class EntityKind:
    """One of Zoho's entity collections under a module."""

    collection: str  # path segment: "files"
    singular: str  # "file": names the data parameter (fileData) and the answer's key (fileId)
    entity_type: int  # the entityType code of the progress API
    has_marks: bool = False
    marks_required: bool = False

    @property
    def data(self) -> str:
        return f"{self.singular}Data"

    @property
    def id_key(self) -> str:
        return f"{self.singular}Id"


KINDS = (
    EntityKind("offlineTests", "offlineTest", 0, has_marks=True),
    EntityKind("onlineTests", "onlineTest", 1),
    EntityKind("assignments", "assignment", 2, has_marks=True, marks_required=True),
    EntityKind("files", "file", 3),
    EntityKind("sessions", "session", 5),
    EntityKind("links", "link", 6),
)

Endpoint = Callable[..., Awaitable[Response]]


def _entity_endpoints(kind: EntityKind) -> dict[str, tuple[str, str, Endpoint]]:
    """(method, path suffix, endpoint) of each call on one entity collection."""

    async def create(request: Request, _principal: CreateAccess) -> Response:
        ctx = context(request)
        course_id, batch = path_id(request, "courseId"), batch_id(request)
        module_id = path_id(request, "moduleId")
        f = await _fields(request, kind.data)
        name = f.text("name", required=True)
        mandatory = f.boolean("isMandatory")
        published = f.boolean("isPublished")
        marks = f.marks("maximumMarks", required=kind.marks_required) if kind.has_marks else None
        given = f.record_id("id")

        def work(c: Connection) -> int:
            catalog.require_module_at(c, course_id, batch, module_id)
            return catalog.create_entity(
                c,
                module_id=module_id,
                entity_type=kind.entity_type,
                name=name,
                now=now(ctx),
                mandatory=True if mandatory is None else mandatory,
                published=True if published is None else published,
                max_marks=marks,
                entity_id=given,
            )

        new = await transact(ctx, work)
        return success(
            {"courseId": course_id, "batchId": batch, "moduleId": module_id, kind.id_key: new}
        )

    async def update(request: Request, _principal: UpdateAccess) -> Response:
        ctx = context(request)
        where = _entity_path(request)
        f = await _fields(request, kind.data)
        name = f.text("name")
        mandatory = f.boolean("isMandatory")
        published = f.boolean("isPublished")
        marks = f.marks("maximumMarks") if kind.has_marks else None

        def work(c: Connection) -> None:
            entity_id = _require_entity(c, kind, *where)
            catalog.update_entity(
                c, entity_id, name=name, mandatory=mandatory, published=published, max_marks=marks
            )

        await transact(ctx, work)
        return success({kind.id_key: where[3]})

    def state_change(published: bool | None, deleted: bool | None, message: str) -> Endpoint:
        async def change(request: Request) -> Response:
            ctx = context(request)
            where = _entity_path(request)

            def work(c: Connection) -> None:
                entity_id = _require_entity(c, kind, *where)
                catalog.set_entity_state(c, entity_id, published=published, deleted=deleted)

            await transact(ctx, work)
            return success({kind.id_key: where[3]}, message)

        return change

    # The guard is declared in each endpoint's own signature (FastAPI reads it from there).
    unpublish = state_change(False, None, "unpublished")
    publish = state_change(True, None, "published")
    delete = state_change(None, True, "deleted")

    async def unpublish_entity(request: Request, _principal: UpdateAccess) -> Response:
        return await unpublish(request)

    async def publish_entity(request: Request, _principal: UpdateAccess) -> Response:
        return await publish(request)

    async def delete_entity(request: Request, _principal: DeleteAccess) -> Response:
        return await delete(request)

    one = "/modules/{moduleId}/" + kind.collection + "/{entityId}"
    return {
        "create": ("POST", "/modules/{moduleId}/" + kind.collection, create),
        "update": ("PATCH", one, update),
        "unpublish": ("POST", one + "/unpublish", unpublish_entity),
        "publish": ("POST", one + "/publish", publish_entity),
        "delete": ("DELETE", one, delete_entity),
    }


def _entity_path(request: Request) -> tuple[int, int | None, int, int]:
    return (
        path_id(request, "courseId"),
        batch_id(request),
        path_id(request, "moduleId"),
        path_id(request, "entityId"),
    )


def _require_entity(
    connection: Connection,
    kind: EntityKind,
    course_id: int,
    batch: int | None,
    module_id: int,
    entity_id: int,
) -> int:
    catalog.require_module_at(connection, course_id, batch, module_id)
    catalog.require_entity_in(connection, module_id, entity_id, kind.entity_type)
    return entity_id


def _entity_doc(kind: EntityKind, action: str) -> dict[str, Any] | None:
    fields: dict[str, Schema] = {"name": NAME, "isMandatory": BOOLEAN, "isPublished": BOOLEAN}
    if kind.has_marks:
        fields["maximumMarks"] = MARKS
    if action == "create":
        required = ("name", "maximumMarks") if kind.marks_required else ("name",)
        return documented(kind.data, {**fields, "id": ID}, required)
    return documented(kind.data, fields) if action == "update" else None


for _kind in KINDS:
    for _action, (_method, _suffix, _endpoint) in _entity_endpoints(_kind).items():
        for _base in MODULE_BASES:
            router.add_api_route(
                _base + _suffix,
                _endpoint,
                methods=[_method],
                summary=f"{_action.capitalize()} {_kind.singular} ({_kind.data})"
                if _action in ("create", "update")
                else f"{_action.capitalize()} {_kind.singular}",
                name=f"{_action}_{_kind.singular}{'_in_batch' if 'batchId' in _base else ''}",
                openapi_extra=_entity_doc(_kind, _action),
            )
