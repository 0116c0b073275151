"""The summary's words: flag and problem hints, rate names, the footer's column definitions, in one place.

Human-facing text is Vietnamese here (the supervisor's language); a later issue moves it to gettext catalogs.
"""

from __future__ import annotations

from docflow.reports.drilldown import Rate

__all__ = [
    "FLAG_HINTS",
    "PROBLEM_HINTS",
    "NOT_TRUST_CHECKED",
    "not_trust_checked_line",
    "RATE_FAILURES",
    "RATE_SHORT",
    "percent",
    "column_legend",
    "left_out_line",
]

FLAG_HINTS: dict[str, str] = {
    "below_target": "tỷ lệ phát hành điện tử dưới chỉ tiêu của cấp",
    "paper": "nhiều văn bản đi chỉ phát hành bản giấy",
    "unsigned": "có văn bản gửi qua trục không ký số",
    "personal_only": "văn bản ký số thiếu chữ ký cơ quan (chỉ ký cá nhân)",
    "invalid_signatures": "có chữ ký số không hợp lệ (bị sửa, không tin cậy, thu hồi, hết hạn, thuật toán yếu)",
    "wrong_unit": "chữ ký cơ quan thuộc đơn vị khác",
    "declining": "tỷ lệ đang giảm",
    "no_data": "không có văn bản trong kỳ",
    "invalid_code": "mã định danh sai cấu trúc",
}

PROBLEM_HINTS: dict[str, str] = {
    "paper": "chỉ phát hành bản giấy",
    "paper_copy": "gửi kèm bản giấy",
    "not_sent": "không thấy gửi qua trục liên thông (sổ ghi điện tử)",
    "unsigned": "không ký số",
    "no_valid_signature": "không có chữ ký hợp lệ",
    "no_organisation_signature": "thiếu chữ ký số cơ quan hợp lệ",
    "no_personal_signature": "thiếu chữ ký số cá nhân hợp lệ",
    "tampered": "nội dung bị sửa sau khi ký",
    "untrusted": "chứng thư không tin cậy",
    "revoked": "chứng thư đã bị thu hồi",
    "expired": "ký ngoài thời hạn chứng thư",
    "weak": "thuật toán yếu",
    "wrong_unit": "chữ ký của đơn vị khác",
    "other": "chữ ký không đọc được",
}

RATE_FAILURES: dict[Rate, str] = {
    Rate.E_ISSUANCE: "văn bản đi chưa phát hành điện tử",
    Rate.SIGNATURE: "văn bản đi điện tử chưa có chữ ký số hợp lệ",
    Rate.ND30: "văn bản đi điện tử chưa đủ hai chữ ký số theo NĐ 30",
}
"""What a rate's failing documents are, after their count (the drill-down's lines)."""

RATE_SHORT: dict[Rate, str] = {Rate.E_ISSUANCE: "PHĐT", Rate.SIGNATURE: "Ký số", Rate.ND30: "NĐ30"}


def not_trust_checked_line(count: int) -> str:
    """Said whenever a figure rests on signatures no trust anchor was consulted for: their verdicts can change."""
    return f"{count} {NOT_TRUST_CHECKED}"


NOT_TRUST_CHECKED = "chữ ký chưa được kiểm tra với kho tin cậy (--no-trust)"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def column_legend(trend_labels: tuple[str, ...], min_documents: int) -> dict[str, str]:
    """What each column of the summary table means, by its header (docs/metrics.md); the footer prints those shown."""
    return {
        "Mã định danh": "mã định danh của đơn vị (dùng với --unit)",
        "PHĐT": "văn bản đi gửi qua trục liên thông, có chữ ký số hợp lệ của chính cơ quan, không kèm bản giấy, "
        "không bị sửa sau khi ký / tổng văn bản đi; văn bản mật không tính (docs/metrics.md)",
        "Xếp loại": f"Đạt / Chưa đạt so với chỉ tiêu của cấp; Không xếp hạng: dưới {min_documents} văn bản đi trong kỳ",
        "VB đi": "tổng văn bản đi trong kỳ (không tính văn bản mật)",
        "NĐ30": "văn bản đi có đủ chữ ký số cá nhân và cơ quan hợp lệ / văn bản đi điện tử",
        "Ký số": "văn bản đi có chữ ký số hợp lệ / văn bản đi điện tử (gửi qua trục, hoặc sổ đăng ký ghi điện tử)",
        "Xu hướng": f"tỷ lệ PHĐT từ {trend_labels[0]} đến {trend_labels[-1]} (· = không có số liệu)",
        "Điện tử": "văn bản đi điện tử (gửi qua trục, hoặc sổ đăng ký ghi điện tử)",
        "Giấy": "văn bản đi chỉ phát hành bản giấy",
        "VB đến": "tổng văn bản đến trong kỳ",
        "Đến ĐT": "văn bản đến nhận điện tử / tổng văn bản đến",
        "Đúng hạn": "văn bản đến có hạn xử lý được xử lý đúng hạn / văn bản đến có hạn xử lý",
        "Cờ": "lý do cần xem đơn vị:",
    }


def left_out_line(headers: list[str]) -> str:
    """The footer's last word on the table: what it did not print, and how to see it."""
    return (
        f"Không in vì không đủ chỗ: {', '.join(headers)} (cửa sổ rộng hơn, COLUMNS=200 khi ghi ra tệp, "
        "hoặc --csv/--json để có đủ các cột)."
    )
