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
    their first completion, and complete those that are now fully done."""
    same = "IS" if sqlite else "IS NOT DISTINCT FROM"
    if not sqlite:
        cursor.execute(f"ANALYZE {touched}")
    statements = [
        "DROP TABLE IF EXISTS import_sizes",
        "DROP TABLE IF EXISTS import_counts",
        # What applies, per (course, batch) pair of the touched enrolments.
        "CREATE TEMP TABLE import_sizes AS SELECT e.course_id AS course_id, "
        "e.batch_id AS batch_id, COUNT(en.id) AS total, "
        "COALESCE(SUM(CASE WHEN en.mandatory THEN 1 ELSE 0 END), 0) AS mandatory_total "
        "FROM (SELECT DISTINCT x.course_id, x.batch_id FROM enrolments x "
        f"JOIN {touched} t ON t.enrolment_id = x.id WHERE x.ended_at IS NULL) e "
        f"LEFT JOIN entities en ON {_APPLIES} GROUP BY e.course_id, e.batch_id",
        # What each touched enrolment completed of it.
        "CREATE TEMP TABLE import_counts AS SELECT e.id AS enrolment_id, COUNT(*) AS done, "
        "MAX(c.completed_at) AS last, "
        "SUM(CASE WHEN en.mandatory THEN 1 ELSE 0 END) AS mandatory_done, "
        "MAX(CASE WHEN en.mandatory THEN c.completed_at END) AS mandatory_last "
        f"FROM {touched} t JOIN enrolments e ON e.id = t.enrolment_id "
        "JOIN entity_completions c ON c.enrolment_id = e.id "
        f"JOIN entities en ON en.id = c.entity_id WHERE e.ended_at IS NULL AND {_APPLIES} "
        "GROUP BY e.id",
        # Completed counts first to zero, so that the totals never fall below them.
        "UPDATE enrolments SET completed_count = 0, mandatory_completed_count = 0, "
        "last_completed_at = NULL, last_mandatory_completed_at = NULL "
        f"WHERE ended_at IS NULL AND id IN (SELECT enrolment_id FROM {touched})",
        "UPDATE enrolments SET total_count = z.total, mandatory_total_count = z.mandatory_total "
        f"FROM {touched} t, import_sizes z WHERE enrolments.id = t.enrolment_id "
        "AND enrolments.ended_at IS NULL AND z.course_id = enrolments.course_id "
        f"AND z.batch_id {same} enrolments.batch_id",
        "UPDATE enrolments SET completed_count = k.done, last_completed_at = k.last, "
        "mandatory_completed_count = k.mandatory_done, "
        "last_mandatory_completed_at = k.mandatory_last "
        "FROM import_counts k WHERE enrolments.id = k.enrolment_id",
        # Started at the first completion, as a completion through the API does.
        "UPDATE enrolments SET started_at = f.first FROM (SELECT c.enrolment_id AS id, "
        f"MIN(c.completed_at) AS first FROM {touched} t JOIN entity_completions c "
        "ON c.enrolment_id = t.enrolment_id GROUP BY c.enrolment_id) f "
        "WHERE enrolments.id = f.id AND (enrolments.started_at IS NULL "
        "OR enrolments.started_at > f.first)",
        # Complete those now fully done (totals.complete_when_all_done); never undone.
        "UPDATE enrolments SET completed_at = last_completed_at "
        f"WHERE id IN (SELECT enrolment_id FROM {touched}) AND ended_at IS NULL "
        "AND completed_at IS NULL AND total_count > 0 AND completed_count = total_count",
        "DROP TABLE import_sizes",
        "DROP TABLE import_counts",
    ]
    for statement in statements:
        cursor.execute(statement)
        if not sqlite and statement.startswith("CREATE TEMP TABLE"):
            # Temporary tables are never analysed automatically; the updates' plans need it.
            cursor.execute(f"ANALYZE {statement.split()[3]}")
