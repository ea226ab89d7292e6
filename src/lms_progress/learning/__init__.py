"""Learning: learners, enrolments, completions, evaluations, and the per-enrolment totals."""
