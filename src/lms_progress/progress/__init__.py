"""Progress: the field rules (pure), the read queries and the progress endpoints."""
