"""Generated input against every documented operation (schemathesis): never a 500, and every
error in the envelope. Runs with a READ+write token and without one."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from lms_progress import demo
from lms_progress.app import create_app
from lms_progress.auth.tokens import Operation
from lms_progress.settings import Settings
from tests.conftest import FakeClock, auth, new_token


def _build_app() -> Any:
    db = Path(tempfile.mkdtemp(prefix="lms-progress-fuzz-")) / "fuzz.db"
    app = create_app(
        Settings(database_url=f"sqlite:///{db}", rate_limit_threshold=10**9),
        clock=FakeClock(),
    )
    with app.state.ctx.engine.begin() as connection:
        demo.load(connection)
    app.state.headers = auth(new_token(app.state.ctx.engine, Operation.ALL))
    app.state.db = db
    return app


# Schemathesis reads the schema when the module is collected, so the app is built here.
APP = _build_app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module", autouse=True)
def _close_app() -> Iterator[None]:
    yield
    APP.state.ctx.reader.close()
    APP.state.ctx.engine.dispose()
    shutil.rmtree(APP.state.db.parent, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors_and_errors_in_the_envelope(case: schemathesis.Case) -> None:
    for headers in (APP.state.headers, None):
        response = case.call(headers=headers)
        assert response.status_code < 500, (case.method, case.formatted_path, response.text)
        if response.status_code >= 400:
            body = response.json()
            assert body["status"] == "failure", response.text
            assert isinstance(body["code"], int) and isinstance(body["message"], str)
