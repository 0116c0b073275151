"""Register exports: encodings, English and Vietnamese headers, and each row rejection."""

from __future__ import annotations

import json
import unicodedata
from datetime import date

import pytest

from docflow.readers.limits import Limits
from docflow.readers.register import read_register
from docflow.readers.text import decode_export, header_key
from docflow.records import Channel, Direction, DocumentRecord, RejectedItem, Source, document_key
from samples.province import encode_cp1258

UNIT = "000.00.01.H04"
OTHER = "000.00.02.H04"
ENGLISH = "unit_code,direction,number,notation,date,type,channel,confidential,subject,counterpart,file"
VIETNAMESE = "Mã đơn vị;Hướng;Số;Ký hiệu;Ngày ban hành;Loại;Kênh;Mật;Trích yếu;Nơi nhận"


def _csv(*rows: str, header: str = ENGLISH) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


def _records(items: list) -> list[DocumentRecord]:
    return [item for item in items if isinstance(item, DocumentRecord)]


def _only_rejection(items: list) -> RejectedItem:
    [item] = items
    assert isinstance(item, RejectedItem), item
    return item


def test_outgoing_row_in_english_with_utf8_bom() -> None:
    data = "\ufeff".encode() + _csv(
        f"{UNIT},out,12,SNV-VP,2026/03/02,Công văn,paper,0,Về việc A,{OTHER}; 000.00.03.H04,QD-12.pdf"
    )
    [record] = read_register("so-di.csv", data)
    assert record == DocumentRecord(
        document_id=document_key(UNIT, date(2026, 3, 2), "12", "SNV-VP"),
        source=Source.REGISTER,
        sender=UNIT,
        recipients=(OTHER, "000.00.03.H04"),
        reporting_unit=UNIT,
        direction=Direction.OUT,
        number="12",
        notation="SNV-VP",
        promulgation_date=date(2026, 3, 2),
        type_name="Công văn",
        subject="Về việc A",
        channel=Channel.PAPER,
        item_name="so-di.csv row 2",
        payload_names=("QD-12.pdf",),
    )


def test_incoming_row_is_keyed_like_the_senders_outgoing_row() -> None:
    out_row = read_register("a.csv", _csv(f"{UNIT},out,12,SNV-VP,2026-03-02,,electronic,0,x,{OTHER},"))[0]
    in_row = read_register("b.csv", _csv(f"{OTHER},in,12,SNV-VP,02/03/2026,,electronic,0,x,{UNIT},"))[0]
    assert out_row.document_id == in_row.document_id
    assert (in_row.sender, in_row.recipients, in_row.direction) == (UNIT, (OTHER,), Direction.IN)


def test_cp1258_export_with_vietnamese_headers_and_values_is_nfc() -> None:
    text = f"{VIETNAMESE}\n{OTHER};đến;7;UBND-VP;02/03/2026;Quyết định;điện tử;1;Về việc phê duyệt;{UNIT}\n"
    data = encode_cp1258(text)
    assert data.decode("cp1258") != text  # tone marks really are combining in the file
    [record] = read_register("so-den.csv", data)
    assert record.subject == "Về việc phê duyệt" == unicodedata.normalize("NFC", record.subject or "")
    assert record.type_name == "Quyết định" and record.confidential and record.direction is Direction.IN
    assert record.channel is Channel.ELECTRONIC and record.sender == UNIT


def test_utf16_tab_separated_export() -> None:
    header = "Mã đơn vị\tHướng\tSố\tKý hiệu\tNgày ban hành\tKênh"
    data = f"{header}\r\n{UNIT}\tđi\t3\tSNV\t2026-01-05\tcả hai\r\n".encode("utf-16")
    [record] = read_register("so-di.csv", data)
    assert record.channel is Channel.BOTH and record.paper_copy and record.number == "3"


def test_title_rows_above_the_header_are_skipped() -> None:
    data = _csv(f"{UNIT},out,1,A,2026-01-05,,giay,0,x,,", header=f"SỔ ĐĂNG KÝ VĂN BẢN ĐI\n\n{ENGLISH}")
    [record] = read_register("so-di.csv", data)
    assert record.channel is Channel.PAPER and record.item_name == "so-di.csv row 4"


def test_json_lines_rows() -> None:
    lines = [
        {
            "ma_don_vi": UNIT,
            "huong": "di",
            "so": 4,
            "ky_hieu": "SNV",
            "ngay_ban_hanh": "2026/01/05",
            "kenh": "dien_tu",
            "mat": False,
            "noi_nhan": [OTHER],
            "document_id": "abc-uuid",
        },
        "not an object",
    ]
    data = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).encode()
    record, rejected = read_register("so-di.jsonl", data)
    assert isinstance(record, DocumentRecord) and record.document_id == "abc-uuid" and record.recipients == (OTHER,)
    assert isinstance(rejected, RejectedItem) and rejected.item_name == "so-di.jsonl line 2"


def test_column_mapping_override() -> None:
    data = _csv(f"{UNIT},out,9,A,2026-01-05,electronic", header="Đơn vị,Loại sổ,Số VB,Ký hiệu,Ngày,Kênh")
    [record] = read_register("so.csv", data, {"number": "Số VB"})
    assert record.number == "9"


@pytest.mark.parametrize(
    ("row", "fragment"),
    [
        (
            f"{UNIT},out,1,A,31/02/2026,,electronic,0,x,,",
            "date '31/02/2026' is not a real date; expected dd/mm/yyyy, dd/mm/yy, yyyy-mm-dd or yyyy/mm/dd",
        ),
        (f"{UNIT},sideways,1,A,2026-01-05,,electronic,0,x,,", "direction 'sideways' is not recognised"),
        (f"{UNIT},out,1,A,2026-01-05,,fax,0,x,,", "channel 'fax' is not recognised"),
        (f"{UNIT},out,,A,2026-01-05,,electronic,0,x,,", "the number (số) is missing"),
        (f"{UNIT},out,1,A,,,electronic,0,x,,", "the date (ngày ban hành) is missing"),
        (",out,1,A,2026-01-05,,electronic,0,x,,", "the unit code (mã đơn vị) is missing"),
        (f"{UNIT},out,1,A,2026-01-05,,electronic,maybe,x,,", "confidential 'maybe' is not recognised"),
        (f"{UNIT},in,1,A,2026-01-05,,electronic,0,x,,", "the incoming document has no sender"),
    ],
)
def test_each_bad_row_is_rejected_with_its_row_number(row: str, fragment: str) -> None:
    good = f"{UNIT},out,2,A,2026-01-05,,electronic,0,x,,"
    items = read_register("registers/so-di.csv", _csv(good, row))
    assert len(_records(items)) == 1
    rejected = [item for item in items if isinstance(item, RejectedItem)]
    assert [r.item_name for r in rejected] == ["registers/so-di.csv row 3"]
    assert fragment in rejected[0].reason


def test_overlong_field_rejects_the_row() -> None:
    items = read_register(
        "so.csv", _csv(f"{UNIT},out,1,A,2026-01-05,,electronic,0,{'y' * 50},,"), limits=Limits(max_field_chars=20)
    )
    assert "subject value is 50 characters" in _only_rejection(items).reason


def test_incoming_sender_taken_from_document_id_when_no_counterpart() -> None:
    header = "unit_code,direction,number,notation,date,channel,document_id"
    data = _csv(f'{OTHER},in,5,X,2026-01-05,electronic,"{UNIT},2026/01/05,5/X"', header=header)
    [record] = read_register("so-den.csv", data)
    assert record.sender == UNIT


@pytest.mark.parametrize("data", [b"just,some,columns\n1,2,3\n", b"", b'{"foo": 1}\n'])
def test_file_without_a_recognisable_header_is_one_rejection(data: bytes) -> None:
    items = read_register("mystery.csv", data)
    assert any(isinstance(i, RejectedItem) and i.item_name == "mystery.csv" for i in items)
    assert not _records(items)


def test_headers_match_without_case_or_diacritics() -> None:
    assert header_key("  Mã Đơn Vị ") == header_key("ma_don_vi") == "ma_don_vi"
    assert header_key("Ngày ban hành") == "ngay_ban_hanh"


def test_decode_export_falls_back_to_cp1258() -> None:
    assert decode_export(encode_cp1258("Trích yếu")) == "Trích yếu"
    assert decode_export("Trích yếu".encode("utf-16-le")) == "Trích yếu"


def test_semicolon_export_with_commas_in_the_subject() -> None:
    header = "Mã đơn vị;Hướng;Số;Ký hiệu;Ngày ban hành;Kênh;Trích yếu"
    data = f"{header}\n{UNIT};đi;1;A;2026-01-02;giấy;Về việc a, b, c, d, e, f, g, h, i, j, k\n".encode()
    [record] = read_register("so.csv", data)
    assert record.subject == "Về việc a, b, c, d, e, f, g, h, i, j, k" and record.channel is Channel.PAPER


def test_bare_carriage_returns_end_rows_like_newlines() -> None:
    data = "\r".join(
        [ENGLISH, f"{UNIT},out,1,A,2026-01-05,,paper,0,Một,,", f"{UNIT},out,2,A,2026-01-06,,paper,0,Hai,,"]
    )
    assert [record.number for record in _records(read_register("mac.csv", data.encode()))] == ["1", "2"]


def test_cell_beyond_the_csv_field_limit_rejects_only_its_row() -> None:
    items = read_register(
        "so.csv",
        _csv(f"{UNIT},out,1,A,2026-01-05,,paper,0,{'Z' * 300_000},,", f"{UNIT},out,2,A,2026-01-06,,paper,0,ok,,"),
    )
    assert [record.number for record in _records(items)] == ["2"]
    [rejected] = [item for item in items if isinstance(item, RejectedItem)]
    assert rejected.item_name == "so.csv row 2" and "longer than" in rejected.reason
