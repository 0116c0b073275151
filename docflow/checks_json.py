"""A verdict's checks as JSON text: what ``docflow verify --json`` prints and what the store keeps in
``signatures.checks_json``, one definition for both.

Encoding the checks is about a third of writing a verdict out, and a signer's verdicts hold the very same
``Check`` objects from one signature to the next (the engine caches them per signer and trust store), so the
text is made once per distinct tuple of checks.
"""

from __future__ import annotations

import json

from signatures.verdict import Check

__all__ = ["checks_json", "encode"]

encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
"""``json.dumps(..., ensure_ascii=False)`` without its per-call set-up; verdicts hold no cycles."""

_CACHE: dict[tuple[int, ...], tuple[tuple[Check, ...], str]] = {}
_CACHE_LIMIT = 4096


def checks_json(checks: tuple[Check, ...]) -> str:
    """``json.dumps([check.to_json() for check in checks], ensure_ascii=False)``, byte for byte."""
    # Keyed by the checks' identities: hashing the frozen Check dataclasses (and their enums, in Python) was
    # about 4 µs a line. The entry holds the checks themselves, so no id in a key is reused while it is cached.
    key = tuple(map(id, checks))
    cached = _CACHE.get(key)
    if cached is None:
        cached = (checks, encode([check.to_json() for check in checks]))
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[key] = cached
    return cached[1]
