"""The totals of the enrolments an import touched, recounted in a few set-based statements.

The same rule as `learning/totals.refresh` (a test holds them equal), shaped for many enrolments
at once: the completions are aggregated in one grouped pass and the entity totals once per
(course, batch), instead of six correlated subqueries per enrolment.
"""

from __future__ import annotations

from typing import Any

# The entity `en` counts for the enrolment `e`: as in totals._applies.
_APPLIES = (
    "en.course_id = e.course_id AND (en.batch_id IS NULL OR en.batch_id = e.batch_id) "
    "AND en.published = TRUE AND en.deleted = FALSE"
)


def recount(cursor: Any, *, sqlite: bool, touched: str = "import_touched") -> None:
    """Recount the active enrolments listed in the temporary table `touched`, start them at
    their first completion, and complete those that are now fully done: one UPDATE, each row
    written once."""
    same = "IS" if sqlite else "IS NOT DISTINCT FROM"
    if not sqlite:
        cursor.execute(f"ANALYZE {touched}")
    statements = [
        "DROP TABLE IF EXISTS import_sizes",
        "DROP TABLE IF EXISTS import_counts",
        "DROP TABLE IF EXISTS import_totals",
        # What applies, per (course, batch) pair of the touched enrolments.
        "CREATE TEMP TABLE import_sizes AS SELECT e.course_id AS course_id, "
        "e.batch_id AS batch_id, COUNT(en.id) AS total, "
        "COALESCE(SUM(CASE WHEN en.mandatory THEN 1 ELSE 0 END), 0) AS mandatory_total "
        "FROM (SELECT DISTINCT x.course_id, x.batch_id FROM enrolments x "
        f"JOIN {touched} t ON t.enrolment_id = x.id WHERE x.ended_at IS NULL) e "
        f"LEFT JOIN entities en ON {_APPLIES} GROUP BY e.course_id, e.batch_id",
        # What each touched enrolment completed of it, and its first completion of anything.
        "CREATE TEMP TABLE import_counts AS SELECT e.id AS enrolment_id, "
        f"SUM(CASE WHEN {_APPLIES} THEN 1 ELSE 0 END) AS done, "
        f"MAX(CASE WHEN {_APPLIES} THEN c.completed_at END) AS last, "
        f"SUM(CASE WHEN {_APPLIES} AND en.mandatory THEN 1 ELSE 0 END) AS mandatory_done, "
        f"MAX(CASE WHEN {_APPLIES} AND en.mandatory THEN c.completed_at END) "
        "AS mandatory_last, MIN(c.completed_at) AS first "
        f"FROM {touched} t JOIN enrolments e ON e.id = t.enrolment_id "
        "JOIN entity_completions c ON c.enrolment_id = e.id "
        "JOIN entities en ON en.id = c.entity_id WHERE e.ended_at IS NULL GROUP BY e.id",
        "CREATE TEMP TABLE import_totals AS SELECT e.id AS enrolment_id, z.total AS total, "
        "z.mandatory_total AS mandatory_total, COALESCE(k.done, 0) AS done, k.last AS last, "
        "COALESCE(k.mandatory_done, 0) AS mandatory_done, k.mandatory_last AS mandatory_last, "
        f"k.first AS first FROM {touched} t JOIN enrolments e ON e.id = t.enrolment_id "
        f"JOIN import_sizes z ON z.course_id = e.course_id AND z.batch_id {same} e.batch_id "
        "LEFT JOIN import_counts k ON k.enrolment_id = e.id WHERE e.ended_at IS NULL",
        # One pass over the rows: totals; started at the first completion, as a completion
        # through the API does; completed once fully done (totals.complete_when_all_done),
        # never undone.
        "UPDATE enrolments SET total_count = n.total, "
        "mandatory_total_count = n.mandatory_total, completed_count = n.done, "
        "last_completed_at = n.last, mandatory_completed_count = n.mandatory_done, "
        "last_mandatory_completed_at = n.mandatory_last, "
        "started_at = CASE WHEN n.first IS NOT NULL AND (enrolments.started_at IS NULL "
        "OR enrolments.started_at > n.first) THEN n.first ELSE enrolments.started_at END, "
        "completed_at = CASE WHEN enrolments.completed_at IS NULL AND n.total > 0 "
        "AND n.done = n.total THEN n.last ELSE enrolments.completed_at END "
        "FROM import_totals n WHERE enrolments.id = n.enrolment_id",
        "DROP TABLE import_sizes",
        "DROP TABLE import_counts",
        "DROP TABLE import_totals",
    ]
    for statement in statements:
        cursor.execute(statement)
        if not sqlite and statement.startswith("CREATE TEMP TABLE"):
            # Temporary tables are never analysed automatically; the updates' plans need it.
            cursor.execute(f"ANALYZE {statement.split()[3]}")
