"""Storage: the SQLAlchemy Core schema, engines, migrations."""
