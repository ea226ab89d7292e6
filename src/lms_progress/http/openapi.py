"""The OpenAPI description, completed with the path parameters that routes parse themselves.

Write routes read their ids from the path with http/params (to give our error codes rather than
the framework's), so FastAPI does not see them; every `{name}` of a path is declared here.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

_PARAMETER = re.compile(r"{(\w+)}")


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            for path, operations in schema.get("paths", {}).items():
                names = _PARAMETER.findall(path)
                for operation in operations.values():
                    declared = {
                        p["name"] for p in operation.get("parameters", []) if p["in"] == "path"
                    }
                    missing = [
                        {
                            "name": name,
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                            "description": "a positive 64-bit integer id",
                        }
                        for name in names
                        if name not in declared
                    ]
                    if missing:
                        operation["parameters"] = missing + operation.get("parameters", [])
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
