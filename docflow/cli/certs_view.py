"""Showing the certificate review (``docflow certs``): a rich table per question.

The answers come from ``docflow.reports.certs``; stored values are shown as literal cells.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from docflow.reports.certs import EXPIRED, IN_USE, NEVER_USED, NO_LONGER_USED, CertReview, SeenCertificate
from docflow.safe_text import cell

__all__ = ["render_review"]

_STATUS_LABELS = {
    IN_USE: "đang sử dụng",
    NEVER_USED: "chưa từng sử dụng",
    NO_LONGER_USED: "không còn sử dụng",
    EXPIRED: "đã hết hạn",
}


def _seen_table(title: str, certs: tuple[SeenCertificate, ...]) -> Table:
    table = Table(title=title, title_justify="left")
    for header in ("Đơn vị", "Chủ thể", "Loại", "Hết hạn", "Số chữ ký", "Lần cuối"):
        table.add_column(header, overflow="fold")
    for cert in certs:
        table.add_row(*map(cell, (
            cert.unit or "?", cert.common_name or cert.sha256[:16], cert.kind,
            (cert.not_after or "")[:10], str(cert.signature_count), (cert.last_used or "")[:10],
        )))  # fmt: skip
    return table


def render_review(review: CertReview, console: Console) -> None:
    console.print(_seen_table(f"Chứng thư số đã thấy theo đơn vị ({len(review.seen)})", review.seen))
    console.print(
        _seen_table(f"Hết hạn trong {review.expiring_days} ngày tới (tính từ {review.as_of})", review.expiring)
    )
    wrong = Table(title=f"Chữ ký số không thuộc đơn vị ban hành ({len(review.wrong_unit)})", title_justify="left")
    for header in ("Đơn vị ban hành", "Văn bản", "Người/cơ quan ký", "Thời gian ký"):
        wrong.add_column(header, overflow="fold")
    for sig in review.wrong_unit:
        wrong.add_row(
            *map(cell, (sig.sender or "?", sig.document_id, sig.signer_subject or "?", (sig.signing_time or "")[:19]))
        )
    console.print(wrong)
    if not review.issued:
        console.print("Chưa có danh sách chứng thư đã cấp (docflow certs import FILE).")
        return
    issued = Table(title="Rà soát chứng thư số đã cấp", title_justify="left")
    for header in ("Đơn vị", "Số hiệu", "Người sử dụng", "Tình trạng", "Lần cuối"):
        issued.add_column(header, overflow="fold")
    for entry in sorted(review.issued, key=lambda e: (e.status == IN_USE, e.unit)):
        issued.add_row(
            *map(
                cell,
                (
                    entry.unit,
                    entry.serial,
                    entry.holder or "",
                    _STATUS_LABELS[entry.status],
                    (entry.last_used or "")[:10],
                ),
            )
        )
    console.print(issued)
