"""Builders and checks shared by the tests; ``tests/conftest.py`` registers them for pytest's assert rewriting."""
