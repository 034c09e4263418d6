"""Alembic migrations of the plugin's tables (Quetz's ``quetz.migrations`` entry point)."""
