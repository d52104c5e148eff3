"""Catalog tests share the loopback Hub fixtures defined in tests/conftest.py."""
