"""An import killed mid-way (SIGKILL: no cleanup runs) leaves the store as it was."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path

from lms_progress.importer.load import Source, import_sources
from lms_progress.importer.reader import format_of_name
from lms_progress.importer.records import kind_of_file
from lms_progress.store import migrate
from lms_progress.store.engine import make_engine
from tests.import_support import dump

LEARNERS, ENTITIES = 1000, 150  # 150,000 completions: seconds of work to interrupt


def write(path: Path, header: str, lines: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(lines) + "\n")
    return path


def test_a_killed_import_leaves_the_store_as_before(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate.upgrade(engine)
    base = [
        write(tmp_path / "learners.csv", "id,name", [f"{i},L{i}" for i in range(1, LEARNERS + 1)]),
        write(tmp_path / "courses.csv", "id,name,type", ["1,Course,1"]),
        write(tmp_path / "modules.csv", "id,course_id,name", ["1,1,Module"]),
        write(
            tmp_path / "entities.csv",
            "id,module_id,entity_type,name",
            [f"{i},1,3,E{i}" for i in range(1, ENTITIES + 1)],
        ),
        write(
            tmp_path / "enrolments.csv",
            "learner_id,course_id,enrolled_at",
            [f"{i},1,2024-01-01" for i in range(1, LEARNERS + 1)],
        ),
    ]
    # The store holds learners enrolled in a course, with nothing completed yet.
    assert import_sources(engine, [_source(path) for path in base], zone=UTC).committed
    before = dump(engine)
    engine.dispose()
    completions = write(
        tmp_path / "completions.csv",
        "learner_id,entity_id,completed_at",
        [
            f"{learner},{entity},{1_704_153_600 + entity}"
            for learner in range(1, LEARNERS + 1)
            for entity in range(1, ENTITIES + 1)
        ],
    )

    process = subprocess.Popen(
        [sys.executable, "-m", "lms_progress", "import", "--db", str(db), str(completions)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_write_lock(db, process)
        time.sleep(0.3)  # well inside the import: it holds the lock for seconds
        assert process.poll() is None, "the import ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    engine = make_engine(f"sqlite:///{db}")
    assert dump(engine) == before
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    # And the store takes the same import, whole, afterwards.
    report = import_sources(engine, [_source(completions)], zone=UTC)
    assert report.committed and report.counts["completions"].added == LEARNERS * ENTITIES
    engine.dispose()


def wait_for_write_lock(db: Path, process: subprocess.Popen[bytes]) -> None:
    """Until the import holds the store's write lock, i.e. its transaction has begun."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the import ended before its transaction was seen"
        probe = sqlite3.connect(db, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                return
            raise
        finally:
            probe.close()
        time.sleep(0.02)
    raise AssertionError("the import never took the write lock")


def _source(path: Path) -> Source:
    kind, fmt = kind_of_file(path.name), format_of_name(path.name)
    assert kind is not None and fmt is not None
    return Source(str(path), kind, fmt, lambda: path.open("rb"))
