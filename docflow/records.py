"""What the batch readers (edxml, register, batch) hand to ingestion.

These are plain facts read from a clerk's files, before any signature is verified
and before anything is stored. Readers never raise on bad input: they yield a
``RejectedItem`` saying what was wrong instead.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

__all__ = [
    "Channel",
    "Direction",
    "BusinessType",
    "Source",
    "SignedPayload",
    "DocumentRecord",
    "StatusEvent",
    "RejectedItem",
    "BatchItem",
    "document_key",
]


class Channel(str, enum.Enum):
    """How a document was issued or received."""

    ELECTRONIC = "electronic"
    PAPER = "paper"
    BOTH = "both"


class Direction(str, enum.Enum):
    OUT = "out"
    IN = "in"


class BusinessType(str, enum.Enum):
    """edXML ``Bussiness/BussinessDocType`` (VPCP SDK mapping, docs/domain.md §1.4)."""

    NEW = "new"
    REVOKE = "revoke"
    UPDATE = "update"
    REPLACE = "replace"


class Source(str, enum.Enum):
    EDXML = "edxml"
    REGISTER = "register"
    SIGNED_FILE = "signed_file"


@dataclass(frozen=True)
class SignedPayload:
    """A signed file found in a batch: a PDF, or a detached/attached CMS with its content."""

    name: str
    """Name inside the batch (e.g. ``attachments/QD-12.signed.pdf`` or ``cv-7.pdf.p7s``)."""
    data: bytes
    """The PDF, or the CMS (``.p7s``/``.p7m``) bytes."""
    content: bytes | None = None
    """For a detached ``.p7s``: the content it signs."""
    kind: str = "pdf"
    """``pdf``, ``cms-detached`` or ``cms-attached``."""


@dataclass(frozen=True)
class DocumentRecord:
    """One document as one source describes it."""

    document_id: str
    """Key: ``OrganId,yyyy/MM/dd,Number/Notation`` (or the UUID some systems use)."""
    source: Source
    sender: str | None
    """Agency code of the issuing unit."""
    recipients: tuple[str, ...] = ()
    """Agency codes of receiving units."""
    reporting_unit: str | None = None
    """Register rows: the unit whose register this row comes from."""
    direction: Direction | None = None
    """Register rows: ``out`` in the sender's register, ``in`` in a recipient's."""
    number: str | None = None
    notation: str | None = None
    promulgation_date: date | None = None
    type_name: str | None = None
    subject: str | None = None
    channel: Channel = Channel.ELECTRONIC
    confidential: bool = False
    business_type: BusinessType = BusinessType.NEW
    paper_copy: bool = False
    """edXML ``Paper=1``: a paper copy was sent too."""
    due_date: date | None = None
    sender_name: str | None = None
    recipient_names: tuple[tuple[str, str], ...] = ()
    """(agency code, name) pairs learned from edXML ``To``."""
    replaces: tuple[str, ...] = ()
    """Revocation/replacement: the document ids this record updates."""
    sent_at: datetime | None = None
    """First ``TraceHeader/Timestamp`` (edXML), when present."""
    payloads: tuple[SignedPayload, ...] = ()
    """Signed files carrying this document."""
    item_name: str = ""
    """Where in the batch it came from (file name, plus row number for registers)."""
    payload_names: tuple[str, ...] = ()
    """Names, within the batch, of signed files this record names (a register row's ``file``).

    The files themselves arrive as bare ``SignedPayload`` items with those names; ingestion
    joins the two within the batch, so readers never hold a batch's PDFs in memory."""


@dataclass(frozen=True)
class StatusEvent:
    """An edXML status package: a recipient's handling of a document (codes 01–16)."""

    document_id: str
    reporting_unit: str
    code: str
    description: str | None
    timestamp: datetime | None
    item_name: str = ""


@dataclass(frozen=True)
class RejectedItem:
    """Something in a batch that could not be used, and why, in words a clerk can act on."""

    item_name: str
    reason: str


BatchItem = DocumentRecord | StatusEvent | SignedPayload | RejectedItem


def document_key(organ_id: str, promulgation: date, number: str, notation: str) -> str:
    """The QCVN 102 DocumentId: ``OrganId,yyyy/MM/dd,Number/Notation``."""
    return f"{organ_id},{promulgation:%Y/%m/%d},{number}/{notation}"
