"""The embedded model catalog: real models with sourced architecture facts, shipped as package data.

:mod:`core.catalog.embedded` reads ``data/catalog.jsonl`` (built by ``scripts/build_catalog.py``
from ``sources/*.jsonl``) and answers look-ups by repo id, family, task and kind, offline.
"""
