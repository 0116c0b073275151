"""Test defaults over ``samples.edxml``: a sender, recipients, fake PDFs and zips in memory."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

from samples.edxml import Attachment, build_edxml

__all__ = ["SENDER", "RECIPIENTS", "PROMULGATION", "PDF", "document", "zip_bytes", "write_zip", "own_id", "attachment"]

SENDER = "000.00.01.H04"
RECIPIENTS = (("000.00.02.H04", "Sở Tài chính"), ("000.00.21.H04", "UBND huyện Ba Bể"))
PROMULGATION = date(2026, 3, 2)
PDF = b"%PDF-1.7\n% not a real PDF: readers never look inside\n%%EOF\n"


def own_id(number: str = "12", notation: str = "SNV-VP") -> str:
    return f"{SENDER},{PROMULGATION:%Y/%m/%d},{number}/{notation}"


def document(number: str = "12", notation: str = "SNV-VP", **overrides: object) -> bytes:
    fields: dict[str, object] = {
        "sender": SENDER, "sender_name": "Sở Nội vụ tỉnh Bắc Kạn", "recipients": RECIPIENTS,
        "number": number, "notation": notation, "promulgation": PROMULGATION,
        "subject": "Về việc báo cáo công tác văn thư",
    }  # fmt: skip
    fields.update(overrides)
    return build_edxml(**fields)  # type: ignore[arg-type]


def zip_bytes(
    members: Mapping[str, bytes] | Iterable[tuple[str | zipfile.ZipInfo, bytes]],
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A zip of ``members``, in order; pairs allow repeated names and hand-made ZipInfo headers."""
    pairs = members.items() if isinstance(members, Mapping) else members
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in pairs:
            archive.writestr(name, data)
    return buffer.getvalue()


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    path.write_bytes(zip_bytes(members))
    return path


def attachment(name: str = "QD-12.signed.pdf", data: bytes = PDF) -> Attachment:
    return Attachment(name, data)
