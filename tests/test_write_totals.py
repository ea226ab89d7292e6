"""Totals kept incrementally by every write equal a full recount, after any sequence of writes."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, select

from lms_progress.catalog import repository as catalog
from lms_progress.errors import ApiError
from lms_progress.learning import repository as learning
from lms_progress.learning import totals
from lms_progress.store.schema import enrolments as e

DAY = 86_400
START = 1_704_067_200  # 2024-01-01


@dataclass
class World:
    """Two courses (self-paced; blended with two batches), their modules, three learners."""

    courses: list[int] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)
    modules: list[int] = field(default_factory=list)  # self-paced, blended shared, batch 1, 2
    entities: list[int] = field(default_factory=list)
    learners: list[int] = field(default_factory=list)


def build(c: Connection) -> World:
    w = World()
    w.courses = [
        catalog.create_course(c, name="SP", course_type=1, now=0),
        catalog.create_course(c, name="BL", course_type=2, now=0),
    ]
    w.batches = [catalog.create_batch(c, course_id=w.courses[1], name="B", now=0) for _ in "12"]
    w.modules = [
        catalog.create_module(c, course_id=w.courses[0], name="M", now=0),
        catalog.create_module(c, course_id=w.courses[1], name="M", now=0),
        *(catalog.create_module(c, course_id=w.courses[1], batch_id=b, name="M", now=0)
          for b in w.batches),
    ]  # fmt: skip
    # Entities: 2 self-paced, 1 shared by the batches, 1 in batch 1, 3 in batch 2.
    for module, count in zip(w.modules, (2, 1, 1, 3), strict=True):
        w.entities += [
            catalog.create_entity(c, module_id=module, entity_type=3, name="E", now=0)
            for _ in range(count)
        ]
    w.learners = [learning.create_learner(c, name=f"L{n}", now=0) for n in range(3)]
    for who, course, batch in ((0, 0, None), (1, 1, 0), (2, 1, 1), (2, 0, None)):
        learning.enrol(
            c,
            learner_id=w.learners[who],
            course_id=w.courses[course],
            batch_id=None if batch is None else w.batches[batch],
            enrolled_at=START,
        )
    return w


index = st.integers(min_value=0, max_value=30)
operations = st.one_of(
    st.tuples(st.just("add"), st.integers(0, 3), st.booleans(), st.booleans()),
    st.tuples(st.just("complete"), index, index, st.integers(0, 20)),
    st.tuples(st.just("unpublish"), index),
    st.tuples(st.just("publish"), index),
    st.tuples(st.just("delete"), index),
    st.tuples(st.just("mandatory"), index, st.booleans()),
    st.tuples(st.just("enrol"), index, st.integers(0, 1), st.integers(0, 1)),
    st.tuples(st.just("unenrol"), index, st.integers(0, 1)),
    st.tuples(st.just("move"), index, st.integers(0, 1)),
    st.tuples(st.just("mark_complete"), index, st.integers(0, 1)),
)


def apply(c: Connection, w: World, op: tuple[object, ...]) -> None:
    kind, *args = op

    def pick(items: list[int], n: object) -> int:
        assert isinstance(n, int)
        return items[n % len(items)]

    entity = (lambda n: pick(w.entities, n)) if w.entities else None
    if kind == "add":
        module, mandatory, published = args
        w.entities.append(
            catalog.create_entity(
                c,
                module_id=pick(w.modules, module),
                entity_type=3,
                name="E",
                now=0,
                mandatory=bool(mandatory),
                published=bool(published),
            )
        )
    elif kind == "complete" and entity:
        who, what, day = args
        assert isinstance(day, int)
        learning.complete_entity(
            c, learner_id=pick(w.learners, who), entity_id=entity(what), at=START + day * DAY
        )
    elif kind in ("unpublish", "publish", "delete") and entity:
        state = {"unpublish": {"published": False}, "publish": {"published": True}}
        catalog.set_entity_state(c, entity(args[0]), **state.get(str(kind), {"deleted": True}))
    elif kind == "mandatory" and entity:
        catalog.update_entity(c, entity(args[0]), mandatory=bool(args[1]))
    elif kind == "enrol":
        who, course, batch = args
        blended = pick(w.courses, course) == w.courses[1]
        learning.enrol(
            c,
            learner_id=pick(w.learners, who),
            course_id=pick(w.courses, course),
            batch_id=pick(w.batches, batch) if blended else None,
            enrolled_at=START,
        )
    elif kind in ("unenrol", "mark_complete"):
        who, course = args
        action = learning.unenrol if kind == "unenrol" else learning.mark_complete
        action(c, learner_id=pick(w.learners, who), course_id=pick(w.courses, course), at=START)
    elif kind == "move":
        who, batch = args
        learning.move_batch(
            c,
            learner_id=pick(w.learners, who),
            course_id=w.courses[1],
            batch_id=pick(w.batches, batch),
        )


def snapshot(engine: Engine, learners: list[int]) -> list[tuple[object, ...]]:
    columns = (
        e.c.id,
        e.c.batch_id,
        e.c.total_count,
        e.c.completed_count,
        e.c.last_completed_at,
        e.c.mandatory_total_count,
        e.c.mandatory_completed_count,
        e.c.last_mandatory_completed_at,
        e.c.completed_at,
        e.c.ended_at,
    )
    with engine.connect() as c:
        rows = c.execute(select(*columns).where(e.c.learner_id.in_(learners)).order_by(e.c.id))
        return [tuple(row) for row in rows]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operations, min_size=1, max_size=40))
def test_incremental_totals_equal_a_full_recount(
    engine: Engine, ops: list[tuple[object, ...]]
) -> None:
    # Each example builds its own courses and learners (new ids), so examples never meet.
    with engine.begin() as c:
        world = build(c)
    for op in ops:
        try:
            with engine.begin() as c:
                apply(c, world, op)
        except ApiError:
            pass  # refused (not enrolled, deleted entity, ...): rolled back, nothing changed
    kept = snapshot(engine, world.learners)
    with engine.begin() as c:
        totals.refresh(c, e.c.learner_id.in_(world.learners))
    assert snapshot(engine, world.learners) == kept
