"""Does a signer certificate belong to the unit that sent the document?

The province's list of issued certificates decides when it knows the certificate.
Otherwise names are compared after normalising away what clerks and CAs spell
differently (diacritics, case, spacing, "(mẫu)"-style notes). A name that matches
nothing known is "unknown", never "wrong": only positive evidence of another unit
makes an organisation signature count as wrong_unit.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "SignerIdentity",
    "OwnershipCache",
    "normalise_name",
    "normalise_serial",
    "unit_names",
    "belongs_to_sender",
    "registered_unit",
]

_PARENTHETICAL = re.compile(r"\([^)]*\)")
_NON_WORD = re.compile(r"[^0-9a-z]+")
# Leading words that carry no identity ("UBND" and its long form name the same body).
_ABBREVIATIONS = (("uy ban nhan dan ", "ubnd "), ("hoi dong nhan dan ", "hdnd "))


@dataclass(frozen=True)
class SignerIdentity:
    """What a stored signature says about its certificate, enough to decide ownership."""

    cert_sha256: str | None
    serial: str | None
    common_name: str | None
    organisation: str | None
    org_unit: str | None
    is_organisation: bool


def normalise_name(name: str) -> str:
    """A unit or certificate name reduced to lowercase ASCII words, for comparison."""
    text = _PARENTHETICAL.sub(" ", unicodedata.normalize("NFC", name))
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text.casefold())
    ascii_text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    words = _NON_WORD.sub(" ", ascii_text).strip() + " "
    for long_form, short_form in _ABBREVIATIONS:
        words = words.replace(long_form, short_form)
    return words.strip()


def normalise_serial(serial: str) -> str:
    """Lowercase hex without separators or leading zeros: how verdicts and the issued list store serials."""
    cleaned = serial.strip().lower().replace(":", "").replace(" ", "")
    if cleaned.startswith("0x"):
        cleaned = cleaned[2:]
    return cleaned.lstrip("0") or "0"


def registered_unit(conn: sqlite3.Connection, identity: SignerIdentity) -> str | None:
    """The unit the province's issued-certificates list gives this certificate, if any."""
    row = None
    if identity.cert_sha256:
        row = conn.execute(
            "SELECT unit FROM issued_certificates WHERE sha256 = ? LIMIT 1",
            (identity.cert_sha256.lower(),),
        ).fetchone()
    if row is None and identity.serial:
        row = conn.execute(
            "SELECT unit FROM issued_certificates WHERE serial = ? LIMIT 1",
            (normalise_serial(identity.serial),),
        ).fetchone()
    return row[0] if row else None


def unit_names(conn: sqlite3.Connection) -> dict[str, set[str]]:
    """Normalised unit name → the codes of units of that name (build once, pass to ``belongs_to_sender``)."""
    names: dict[str, set[str]] = {}
    for code, name in conn.execute("SELECT code, name FROM units WHERE name IS NOT NULL AND name != ''"):
        names.setdefault(normalise_name(name), set()).add(code)
    return names


def belongs_to_sender(
    conn: sqlite3.Connection,
    identity: SignerIdentity,
    sender: str | None,
    names: Mapping[str, set[str]],
) -> bool | None:
    """True/False when there is evidence either way; None when nothing is known.

    ``names`` is ``unit_names(conn)``, passed in so that a batch does not rebuild it per signature.
    """
    if not sender:
        return None
    unit = registered_unit(conn, identity)
    if unit is not None:
        return unit == sender
    claimed = identity.common_name if identity.is_organisation else None
    claimed = claimed or identity.organisation or identity.org_unit
    if not claimed:
        return None
    codes = names.get(normalise_name(claimed), set())
    if sender in codes:
        return True
    # Another known unit's name is evidence of a wrong unit; an unknown name is not.
    return False if codes else None


class OwnershipCache:
    """``belongs_to_sender`` answers for one connection, kept until units may have changed (``forget``).

    An organisation certificate signs most of its unit's documents, so a batch asks the same question
    hundreds of times.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._unit_names: dict[str, set[str]] | None = None
        self._answers: dict[tuple[SignerIdentity, str], bool | None] = {}

    def belongs(self, identity: SignerIdentity, sender: str | None) -> bool | None:
        """Whether an organisation's signature is the sending unit's, for a document whose sender is ``sender``."""
        if sender is None or not identity.is_organisation:
            return None
        key = (identity, sender)
        if key not in self._answers:
            if self._unit_names is None:
                self._unit_names = unit_names(self._conn)
            self._answers[key] = belongs_to_sender(self._conn, identity, sender, self._unit_names)
        return self._answers[key]

    def forget(self) -> None:
        """Units (or, between transactions, the issued-certificates list) may have changed: ownership is re-read."""
        self._unit_names = None
        self._answers.clear()
