"""The trust store states verdicts were made under (``trust_states``), and which names a later state changed.

A verdict row names its state by fingerprint; the state's inventory (every anchor, intermediate and CRL, by
SHA-256 and name) is recorded the first time it judges anything. Comparing two inventories gives the names a
change touched (certificates added, removed or replaced, by subject; CRLs, by issuer), and so the signatures
whose verdict could change: those whose chain reaches such a name.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime

from signatures.trust import TrustMember, TrustRole, TrustStore

__all__ = ["record_trust_state", "trust_inventory", "changed_names", "touched_issuers", "TouchedChains"]


def record_trust_state(conn: sqlite3.Connection, trust: TrustStore) -> None:
    """Record ``trust``'s inventory, once per fingerprint (its first use keeps its date)."""
    if conn.execute("SELECT 1 FROM trust_states WHERE fingerprint = ?", (trust.fingerprint,)).fetchone():
        return
    members = [
        {
            "role": member.role.value,
            "sha256": member.sha256,
            "name": member.name,
            "issuer": member.issuer,
            "this_update": member.this_update.isoformat() if member.this_update else None,
        }
        for member in trust.inventory()
    ]
    conn.execute(
        "INSERT INTO trust_states (fingerprint, first_used, source, members_json) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (
            trust.fingerprint,
            datetime.now(UTC).isoformat(timespec="seconds"),
            trust.source or None,
            json.dumps(members, ensure_ascii=False),
        ),
    )


def trust_inventory(conn: sqlite3.Connection, fingerprint: str) -> tuple[TrustMember, ...] | None:
    """The recorded inventory of a state; None when it was never recorded (or cannot be read)."""
    row = conn.execute("SELECT members_json FROM trust_states WHERE fingerprint = ?", (fingerprint,)).fetchone()
    if row is None:
        return None
    try:
        return tuple(
            TrustMember(
                TrustRole(item["role"]),
                str(item["sha256"]),
                str(item["name"]),
                item.get("issuer"),
                datetime.fromisoformat(item["this_update"]) if item.get("this_update") else None,
            )
            for item in json.loads(row[0])
        )
    except (ValueError, KeyError, TypeError):
        return None


def changed_names(before: Iterable[TrustMember], after: Iterable[TrustMember]) -> frozenset[str]:
    """Names of the members added, removed or replaced between two states."""
    old = {(member.role, member.sha256): member.name for member in before}
    new = {(member.role, member.sha256): member.name for member in after}
    return frozenset(name for key, name in old.items() if key not in new) | frozenset(
        name for key, name in new.items() if key not in old
    )


def touched_issuers(before: tuple[TrustMember, ...], after: tuple[TrustMember, ...]) -> TouchedChains:
    """Which signer issuers a change from ``before`` to ``after`` touches (``TouchedChains.__call__``)."""
    return TouchedChains(changed_names(before, after), before + after)


class TouchedChains:
    """Whether a chain starting at an issuer name reaches a changed name, through the certificates of both states."""

    def __init__(self, changed: frozenset[str], members: tuple[TrustMember, ...]) -> None:
        self._changed = changed
        self._parents: dict[str, set[str]] = {}
        for member in members:
            if member.role is not TrustRole.CRL and member.issuer is not None:
                self._parents.setdefault(member.name, set()).add(member.issuer)
        self._known: dict[str, bool] = {}

    def __call__(self, issuer: str | None) -> bool:
        if issuer is None:
            return bool(self._changed)  # no issuer to follow: any change may matter
        if issuer not in self._known:
            self._known[issuer] = self._reaches_change(issuer)
        return self._known[issuer]

    def _reaches_change(self, start: str) -> bool:
        seen: set[str] = set()
        pending = [start]
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            if name in self._changed:
                return True
            seen.add(name)
            pending.extend(self._parents.get(name, ()))
        return False
