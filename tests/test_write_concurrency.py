"""Writes that race: exactly one wins, the others get a clear 409, none a 500."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from fastapi import FastAPI
from sqlalchemy import Engine, func, select

from lms_progress.catalog import repository as catalog
from lms_progress.errors import ApiError, ErrorCode
from lms_progress.http.writes import in_transaction
from lms_progress.learning import repository as learning
from lms_progress.learning import totals
from lms_progress.store.schema import enrolments
from tests.builders import course, enrol, learner


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


def _recount_matches(engine: Engine) -> None:
    columns = (
        enrolments.c.total_count,
        enrolments.c.completed_count,
        enrolments.c.mandatory_total_count,
        enrolments.c.mandatory_completed_count,
        enrolments.c.last_completed_at,
        enrolments.c.completed_at,
    )
    with engine.connect() as c:
        kept = c.execute(select(*columns).order_by(enrolments.c.id)).all()
    with engine.begin() as c:
        totals.refresh(c, enrolments.c.id.is_not(None))
    with engine.connect() as c:
        assert c.execute(select(*columns).order_by(enrolments.c.id)).all() == kept


def _in_thread(work: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def test_a_recount_waiting_on_a_completion_sees_it(engine: Engine) -> None:
    """A completion holds the enrolment; an entity change that recounts it waits, then counts
    the completion (on PostgreSQL a recount evaluated on its first snapshot would miss it)."""
    ada = learner(engine)
    course_id, _, (first, second, _third) = course(engine, 3)
    enrol(engine, ada, course_id, 0)
    with engine.connect() as a:
        transaction = a.begin()
        learning.complete_entity(a, learner_id=ada, entity_id=first, at=10)

        def unpublish() -> None:
            with engine.begin() as b:
                catalog.set_entity_state(b, second, published=False)

        thread, errors = _in_thread(unpublish)
        time.sleep(0.5)  # the recount is now waiting on the completion's lock
        transaction.commit()
        thread.join()
    assert errors == []
    _recount_matches(engine)


def test_a_completion_waiting_on_an_unpublish_is_refused(engine: Engine) -> None:
    """An unpublish holds the enrolments it recounted; a completion of that entity waits, then
    sees it unpublished (409) instead of counting it."""
    ada = learner(engine)
    course_id, _, (first, _second) = course(engine, 2)
    enrol(engine, ada, course_id, 0)
    outcome: list[object] = []
    with engine.connect() as b:
        transaction = b.begin()
        catalog.set_entity_state(b, first, published=False)

        def complete() -> None:
            with engine.begin() as a:
                outcome.append(learning.complete_entity(a, learner_id=ada, entity_id=first, at=10))

        thread, errors = _in_thread(complete)
        time.sleep(0.5)
        transaction.commit()
        thread.join()
    assert outcome == [] and len(errors) == 1
    assert isinstance(errors[0], ApiError) and errors[0].error is ErrorCode.CONFLICT
    _recount_matches(engine)
