"""Tests that need a real PostgreSQL server (see conftest.py)."""
