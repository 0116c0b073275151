"""``NAME.receipt.txt``: the receipt as a clerk reads it, in Vietnamese, times as dd/mm/yyyy HH:MM:SS.

The reasons themselves are the readers' (English until issue 18 moves them to catalogs); the frame
around them says in plain Vietnamese what happened and what to do next.
"""

from __future__ import annotations

from datetime import tzinfo

from docflow.times import DEFAULT_TIMEZONE, for_people
from docflow.watch.receipt import Receipt

__all__ = ["receipt_text"]

_HEADLINES = {
    "ingested": "ĐÃ TIẾP NHẬN lô văn bản.",
    "rejected": "KHÔNG TIẾP NHẬN được lô văn bản này: không có mục nào được nhận.",
    "duplicate": "Lô văn bản này ĐÃ ĐƯỢC XỬ LÝ TRƯỚC ĐÓ; lần này không ghi thêm gì.",
}
_PARTLY = "Một số mục KHÔNG được nhận (xem danh sách bên dưới); các mục còn lại đã được nhận."
_VERDICTS = {"TOTAL_FAILED": "không hợp lệ", "INDETERMINATE": "chưa xác nhận được"}
_NEXT_STEPS = {
    "ingested": "Không cần làm gì thêm.",
    "rejected": "Đọc lý do, sửa hoặc xuất lại lô từ phần mềm quản lý văn bản, rồi thả lô mới vào thư mục nhận.",
    "duplicate": "Không cần gửi lại lô này.",
}
_NEXT_STEPS_PARTLY = "Chỉ cần sửa và gửi lại các mục không được nhận, trong một lô mới."


def receipt_text(receipt: Receipt, zone: tzinfo | None = None) -> str:
    """``zone``: ``[display] timezone`` (None: Asia/Ho_Chi_Minh, named "giờ Việt Nam")."""
    zone_name = "giờ Việt Nam" if zone is None or str(zone) == DEFAULT_TIMEZONE else f"múi giờ {zone}"
    lines = [
        "BIÊN NHẬN LÔ VĂN BẢN",
        "",
        f"Tên lô:          {receipt.batch}",
        f"Mã SHA-256:      {receipt.sha256 or '(không đọc được)'}",
        f"Thời điểm nhận:  {for_people(receipt.received_at, zone)} ({zone_name})",
        "",
        _HEADLINES.get(receipt.outcome, receipt.outcome),
    ]
    partly = receipt.outcome == "ingested" and bool(receipt.rejected_items)
    if partly:
        lines.append(_PARTLY)
    if receipt.earlier:
        lines.append(f"Lần trước: {receipt.earlier}")
    if receipt.outcome != "duplicate":
        counts = receipt.counts
        lines += [
            "",
            f"Văn bản đã ghi nhận: {counts.documents} (mới: {counts.new_documents}, "
            f"cập nhật: {counts.updated_documents})",
            f"Chữ ký số đã ghi nhận: {counts.signatures}",
        ]
    lines += _refused_lines(receipt) + _signature_lines(receipt)
    lines += ["", f"Việc cần làm: {_NEXT_STEPS_PARTLY if partly else _NEXT_STEPS.get(receipt.outcome, '')}", ""]
    return "\n".join(lines)


def _refused_lines(receipt: Receipt) -> list[str]:
    if not receipt.rejected_items:
        return []
    lines = ["", f"Các mục không được nhận ({len(receipt.rejected_items)}):"]
    for number, item in enumerate(receipt.rejected_items, 1):
        lines += [f"{number}. {item.item}", f"   Lý do: {item.reason}", f"   Cần làm: {item.what_to_do}"]
    return lines


def _signature_lines(receipt: Receipt) -> list[str]:
    if not receipt.signatures_not_passed:
        return []
    lines = ["", f"Chữ ký số không đạt ({len(receipt.signatures_not_passed)}):"]
    for number, signature in enumerate(receipt.signatures_not_passed, 1):
        verdict = _VERDICTS.get(signature.passed_indication, signature.passed_indication)
        lines += [
            f"{number}. Văn bản: {signature.document}",
            f"   Người ký: {signature.signer}",
            f"   Kết quả: {verdict} ({signature.verdict})",
        ]
    return lines
