"""Writes that race: exactly one wins, the others get a clear 409, none a 500."""

from __future__ import annotations

import threading

from fastapi import FastAPI
from sqlalchemy import Engine, func, select

from lms_progress.errors import ApiError, ErrorCode
from lms_progress.http.writes import in_transaction
from lms_progress.learning import repository as learning
from lms_progress.store.schema import enrolments
from tests.builders import course, learner


def test_concurrent_enrolments_of_one_learner_leave_one_row(app: FastAPI, engine: Engine) -> None:
    ctx = app.state.ctx
    learner_id = learner(engine)
    course_id, _, _ = course(engine, 2)
    start = threading.Barrier(6)
    outcomes: list[object] = []

    def enrol() -> None:
        start.wait()
        try:
            outcomes.append(
                in_transaction(
                    ctx,
                    lambda c: learning.enrol(
                        c, learner_id=learner_id, course_id=course_id, enrolled_at=0
                    ),
                )
            )
        except ApiError as exc:
            outcomes.append(exc.error)

    threads = [threading.Thread(target=enrol) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(isinstance(o, int) for o in outcomes) == 1, outcomes
    assert [o for o in outcomes if not isinstance(o, int)] == [ErrorCode.CONFLICT] * 5
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(enrolments)).scalar() == 1
