"""Writes that race: exactly one wins, the others get a clear 409, none a 500."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from sqlalchemy import Connection, Engine, func, select

from lms_progress.catalog import repository as catalog
from lms_progress.context import AppContext
from lms_progress.errors import ApiError, ErrorCode
from lms_progress.http.writes import in_transaction
from lms_progress.learning import repository as learning
from lms_progress.learning import totals
from lms_progress.store.schema import enrolments, learners
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


def _marked_entity(engine: Engine) -> tuple[int, int]:
    """A learner enrolled in a course of one entity without maximum marks: (learner, entity)."""
    ada = learner(engine)
    course_id, _, (entity,) = course(engine, 1)
    enrol(engine, ada, course_id, 0)
    return ada, entity


def test_a_lower_maximum_waiting_on_a_score_sees_it(engine: Engine) -> None:
    """A completion with a score holds its course; lowering the entity's maximum below that
    score waits, then sees the score (on PostgreSQL it read the scores committed before)."""
    ada, entity = _marked_entity(engine)
    with engine.connect() as a:
        transaction = a.begin()
        learning.complete_entity(a, learner_id=ada, entity_id=entity, at=10, score="45")

        def lower() -> None:
            with engine.begin() as b:
                catalog.update_entity(b, entity, max_marks="10")

        thread, errors = _in_thread(lower)
        time.sleep(0.5)
        transaction.commit()
        thread.join()
    assert len(errors) == 1 and isinstance(errors[0], ApiError), errors
    assert errors[0].error is ErrorCode.VALIDATION_FAILED


def test_a_score_waiting_on_a_lower_maximum_meets_it(engine: Engine) -> None:
    """Lowering the maximum holds the course; a completion with a score above it waits, then
    is refused (it read the maximum committed before)."""
    ada, entity = _marked_entity(engine)
    with engine.connect() as b:
        transaction = b.begin()
        catalog.update_entity(b, entity, max_marks="10")

        def complete() -> None:
            with engine.begin() as a:
                learning.complete_entity(a, learner_id=ada, entity_id=entity, at=10, score="45")

        thread, errors = _in_thread(complete)
        time.sleep(0.5)
        transaction.commit()
        thread.join()
    assert len(errors) == 1 and isinstance(errors[0], ApiError), errors
    assert errors[0].error is ErrorCode.VALIDATION_FAILED


def _at_once(calls: list[Callable[[], object]]) -> list[object]:
    """Run every call in its own thread, all released together; their results or errors."""
    start = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        start.wait()
        try:
            outcomes[i] = calls[i]()
        except BaseException as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _adding_entity(ctx: AppContext, module_id: int) -> Callable[[], object]:
    """A call that adds a published entity to the module, as the API does."""
    return lambda: in_transaction(
        ctx, lambda c: catalog.create_entity(c, module_id=module_id, entity_type=3, name="n", now=0)
    )


def test_enrolments_and_new_entities_at_once_count_every_entity(
    app: FastAPI, engine: Engine
) -> None:
    """An enrolment and an entity created at the same moment: the enrolment counts the entity
    (on PostgreSQL each used to commit without seeing the other), and no call fails."""
    ctx = app.state.ctx
    for _ in range(8):
        course_id, _, _ = course(engine, 1)
        with engine.begin() as c:
            module_id = catalog.create_module(c, course_id=course_id, name="M2", now=0)
        people = [learner(engine) for _ in range(5)]

        def enrol_one(who: int, course_id: int = course_id) -> Callable[[], object]:
            return lambda: in_transaction(
                ctx, lambda c: learning.enrol(c, learner_id=who, course_id=course_id, enrolled_at=0)
            )

        outcomes = _at_once(
            [enrol_one(who) for who in people] + [_adding_entity(ctx, module_id)] * 5
        )
        assert all(isinstance(o, int) for o in outcomes), outcomes
    _recount_matches(engine)


def test_batch_moves_and_new_batch_entities_at_once_count_every_entity(
    app: FastAPI, engine: Engine
) -> None:
    ctx = app.state.ctx
    for _ in range(6):
        course_id, first_batch, _ = course(engine, 1, course_type=2)
        assert first_batch is not None
        with engine.begin() as c:
            second = catalog.create_batch(c, course_id=course_id, name="B2", now=0)
            module_id = catalog.create_module(
                c, course_id=course_id, batch_id=second, name="M2", now=0
            )
        people = [learner(engine) for _ in range(5)]
        for who in people:
            with engine.begin() as c:
                learning.enrol(
                    c, learner_id=who, course_id=course_id, enrolled_at=0, batch_id=first_batch
                )

        def move(who: int, course_id: int = course_id, to: int = second) -> Callable[[], object]:
            return lambda: in_transaction(
                ctx,
                lambda c: learning.move_batch(c, learner_id=who, course_id=course_id, batch_id=to),
            )

        outcomes = _at_once([move(who) for who in people] + [_adding_entity(ctx, module_id)] * 5)
        assert all(not isinstance(o, BaseException) for o in outcomes), outcomes
    _recount_matches(engine)


def test_a_write_the_store_rolls_back_for_a_deadlock_runs_again(
    app: FastAPI, engine: Engine
) -> None:
    """Two writes that lock two learners in opposite orders: PostgreSQL aborts one of them
    ("deadlock detected"); it runs again and both succeed, instead of one getting a 503."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no deadlock to run again")
    ctx = app.state.ctx
    a, b = learner(engine), learner(engine)
    both_hold_one = threading.Barrier(2, timeout=10)
    attempts: list[int] = []

    def lock_in_order(first: int, second: int) -> Callable[[], object]:
        def work(c: Connection) -> object:
            attempts.append(first)
            c.execute(select(learners.c.id).where(learners.c.id == first).with_for_update())
            if attempts.count(first) == 1:
                both_hold_one.wait()
            c.execute(select(learners.c.id).where(learners.c.id == second).with_for_update())
            return first

        return lambda: in_transaction(ctx, work)

    outcomes = _at_once([lock_in_order(a, b), lock_in_order(b, a)])
    assert outcomes == [a, b]
    assert len(attempts) == 3  # one of the two ran twice
