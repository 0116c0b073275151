"""The certificate review of issue 21: expired and expiring apart, signing after expiry, units from the issued list
(serial and issuer), one unit by code or name, the JSON fields, the line per unit, and the import's normalising."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.db import DEPARTMENT, DISTRICT, PROVINCE, new_store, put_unit

from docflow.cli import main
from docflow.reports.cert_units import issuer_matches
from docflow.reports.certs import import_issued, review_certificates
from docflow.times import people_zone

# The review's today is the province's (Asia/Ho_Chi_Minh), not the machine's: between 17:00 and 24:00 UTC they differ.
TODAY = datetime.now(people_zone()).date()
CA = "CN=CA phục vụ các cơ quan Đảng và Nhà nước,O=Ban Cơ yếu Chính phủ,C=VN"
OTHER_CA = "CN=VNPT Certification Authority,O=VNPT Group,C=VN"


def _day(offset: int) -> str:
    """An ISO end of validity ``offset`` days from today (noon UTC: the same day in Asia/Ho_Chi_Minh)."""
    return f"{(TODAY + timedelta(days=offset)).isoformat()}T12:00:00+00:00"


# sha256, serial, issuer, common name, kind, stored unit, not_after, signature count
CERTIFICATES = [
    ("aa" * 32, "0a1b", CA, "SỞ TÀI CHÍNH", "organisation", DEPARTMENT, _day(1000), 40),
    ("bb" * 32, "0c2d", CA, "Nguyễn Văn An", "person", None, _day(10), 35),  # unit only in the issued list
    ("cc" * 32, "0e3f", CA, "UBND HUYỆN BA BỂ", "organisation", DISTRICT, "2024-12-31T16:59:59+00:00", 4),
    ("dd" * 32, "0c2d", OTHER_CA, "Trần Văn Khác", "person", None, _day(500), 2),  # same serial, another CA
    ("ee" * 32, "0777", CA, "Lê Thị Hoa", "person", None, _day(-3), 1),  # ended three days ago
]


def _store(path: Path) -> sqlite3.Connection:
    conn = new_store(path)
    put_unit(conn, PROVINCE, "UBND tỉnh Bắc Kạn", "province")
    put_unit(conn, DEPARTMENT, "Sở Tài chính", "department", PROVINCE)
    put_unit(conn, DISTRICT, "UBND huyện Ba Bể", "district", PROVINCE)
    conn.executemany(
        "INSERT INTO certificates (sha256, serial, issuer, common_name, kind, unit, not_after, first_used, last_used,"
        " signature_count) VALUES (?, ?, ?, ?, ?, ?, ?, '2024-06-01T00:00:00+00:00', '2025-02-01T00:00:00+00:00', ?)",
        CERTIFICATES,
    )
    conn.execute("INSERT INTO batches (id, file_name, sha256, size_bytes, kind, received_at, processed_at, outcome)"
                 " VALUES (1, 'b.zip', 'ff', 1, 'zip', '', '', 'ingested')")  # fmt: skip
    signatures = [
        # document, sender, cert, signing time, source, belongs to sender
        ("d1", DISTRICT, "cc", "2025-02-01T03:00:00+00:00", "signed_attribute", 1),  # a month after it ended
        ("d2", DISTRICT, "cc", "2024-12-31T10:00:00+00:00", "timestamp", 1),  # the day it ended, before the end
        ("d3", DISTRICT, "cc", "2024-12-31T23:30:00+07:00", "timestamp", 1),  # 16:30 UTC: before; as text, after
        ("d4", PROVINCE, "aa", "2026-10-02T03:00:00+00:00", "timestamp", 0),  # the department's seal on another's
    ]
    for index, (document, sender, cert, when, source, belongs) in enumerate(signatures):
        conn.execute("INSERT INTO documents (document_id, sender, period, channel) VALUES (?, ?, '2025-02', 'axis')",
                     (document, sender))  # fmt: skip
        conn.execute(
            "INSERT INTO signatures (payload_sha256, idx, document_id, batch_id, item_name, indication, reason,"
            " signing_time_source, kind, belongs_to_sender, checks_json, signer_subject, cert_sha256, signing_time)"
            " VALUES (?, 0, ?, 1, 'x.pdf', 'TOTAL_PASSED', 'ok', ?, 'organisation', ?, '[]', 'CN=x', ?, ?)",
            (f"p{index}", document, source, belongs, cert * 32, when),
        )
    conn.commit()
    return conn


ISSUED = (
    "Serial number,Unit code,Holder,Certificate type,Expiry date,Issuer\n"
    f"0A:1B,{DEPARTMENT},Sở Tài chính,Tổ chức,31/12/2029,Ban Cơ yếu Chính phủ\n"
    f"0C:2D,{DEPARTMENT},Nguyễn Văn An,Cá nhân,2027-12-31,CA phuc vu cac co quan Dang va Nha nuoc\n"
    f"0e3f,{DISTRICT},UBND huyện Ba Bể,organization,31/12/24,Ban Cơ yếu Chính phủ\n"
    f"0999,{DISTRICT},Hoàng Văn Cường,individual,31/12/2027,Ban Cơ yếu Chính phủ\n"
)


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    conn = _store(tmp_path / "docflow.db")
    issued = tmp_path / "issued.csv"
    issued.write_text(ISSUED, encoding="utf-8")
    assert import_issued(conn, issued).rejected == ()
    return conn


def test_expired_and_expiring_are_two_lists_with_their_days(conn: sqlite3.Connection) -> None:
    review = review_certificates(conn, expiring_days=30, as_of=TODAY)
    assert [(cert.common_name, review.days_left(cert)) for cert in review.expiring] == [("Nguyễn Văn An", 10)]
    assert [(cert.common_name, review.days_left(cert)) for cert in review.expired] == [
        ("Lê Thị Hoa", -3),
        ("UBND HUYỆN BA BỂ", (date(2024, 12, 31) - TODAY).days),  # expired in 2024: never "expiring"
    ]
    assert review_certificates(conn, expiring_days=9, as_of=TODAY).expiring == ()


def test_a_signature_made_after_its_certificate_ended_is_its_own_finding(conn: sqlite3.Connection) -> None:
    [late] = review_certificates(conn, as_of=TODAY).signed_after_expiry
    assert (late.document_id, late.cert_unit, late.signing_time_source) == ("d1", DISTRICT, "signed_attribute")
    assert late.not_after.startswith("2024-12-31")


def test_a_personal_certificate_takes_its_unit_from_the_issued_list_by_serial_and_issuer(
    conn: sqlite3.Connection,
) -> None:
    by_name = {cert.common_name: cert for cert in review_certificates(conn, as_of=TODAY).seen}
    assert (by_name["Nguyễn Văn An"].unit, by_name["Nguyễn Văn An"].unit_source) == (DEPARTMENT, "issued_list")
    # The same serial from another CA is another certificate: the list says nothing of it.
    assert (by_name["Trần Văn Khác"].unit, by_name["Trần Văn Khác"].unit_source) == (None, None)
    assert (by_name["Lê Thị Hoa"].unit, by_name["Lê Thị Hoa"].unit_source) == (None, None)
    assert by_name["UBND HUYỆN BA BỂ"].unit_source == "issued_list"


def test_issuer_names_match_a_name_or_a_whole_distinguished_name() -> None:
    assert issuer_matches("Ban Co yeu Chinh phu", CA) and issuer_matches(CA, CA)
    assert not issuer_matches("Ban Cơ yếu Chính phủ", OTHER_CA) and not issuer_matches("Ban Cơ yếu", None)


def test_a_line_per_unit(conn: sqlite3.Connection) -> None:
    lines = {line.unit: line for line in review_certificates(conn, expiring_days=30, as_of=TODAY).units}
    assert set(lines) == {DEPARTMENT, DISTRICT}
    department, district = lines[DEPARTMENT], lines[DISTRICT]
    assert (department.name, department.issued, department.used, department.unused, department.seen) == (
        "Sở Tài chính", 2, 2, 0, 2,
    )  # fmt: skip
    assert (department.expiring, department.expired, department.used_by_another_unit) == (1, 0, 1)
    assert (district.issued, district.used, district.unused, district.seen, district.expired) == (2, 1, 1, 1, 1)
    assert (district.signed_after_expiry, department.signed_after_expiry) == (1, 0)


def _invoke(db: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--lang", "en", "certs", "--db", str(db), *args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


@pytest.mark.parametrize("unit", [DEPARTMENT, "so tai chinh", "Sở Tài chính"])
def test_one_unit_by_code_or_by_name(conn: sqlite3.Connection, tmp_path: Path, unit: str) -> None:
    conn.close()
    code, output = _invoke(tmp_path / "docflow.db", "--unit", unit, "--json")
    assert code == 0, output
    review = json.loads(output)
    assert review["unit"] == DEPARTMENT and [line["unit"] for line in review["units"]] == [DEPARTMENT]
    assert {cert["common_name"] for cert in review["certificates"]} == {"SỞ TÀI CHÍNH", "Nguyễn Văn An"}
    assert [sig["document_id"] for sig in review["wrong_unit_signatures"]] == ["d4"]  # its seal on another's
    assert review["signed_after_expiry"] == [] and all(use["unit"] == DEPARTMENT for use in review["issued"])


def test_a_name_several_units_fit_is_listed_with_exit_2(conn: sqlite3.Connection, tmp_path: Path) -> None:
    conn.close()
    code, output = _invoke(tmp_path / "docflow.db", "--unit", "ubnd")
    assert code == 2 and PROVINCE in output and DISTRICT in output


def test_the_json_fields(conn: sqlite3.Connection, tmp_path: Path) -> None:
    conn.close()
    code, output = _invoke(tmp_path / "docflow.db", "--json")
    review = json.loads(output)
    assert code == 0 and review["as_of"] == TODAY.isoformat() and review["unit"] is None
    assert set(review) == {
        "as_of", "expiring_days", "unit", "units", "certificates", "expiring", "expired", "signed_after_expiry",
        "wrong_unit_signatures", "issued",
    }  # fmt: skip
    assert set(review["units"][0]) == {
        "unit", "name", "issued", "used", "unused", "seen", "expiring", "expired", "used_by_another_unit",
        "signed_after_expiry",
    }  # fmt: skip
    assert [(cert["common_name"], cert["days_left"]) for cert in review["expiring"]] == [("Nguyễn Văn An", 10)]
    assert {"unit_source", "issuer"} <= set(review["certificates"][0])
    assert set(review["signed_after_expiry"][0]) == {
        "document_id", "sender", "signer", "cert_sha256", "cert_unit", "not_after", "signing_time",
        "signing_time_source",
    }  # fmt: skip


def test_the_tables_show_expired_apart_with_dates(conn: sqlite3.Connection, tmp_path: Path) -> None:
    conn.close()
    code, output = _invoke(tmp_path / "docflow.db")
    assert code == 0, output
    expiring, expired = output.split("Expiring within 30 days")[1].split("Expired before")
    assert "31/12/2024" not in expiring and "31/12/2024" in expired and "Lê Thị Hoa" in expired
    assert "Signed after the certificate expired (1)" in output and "claimed by the signer" in output
    assert "Certificates per unit (2)" in output and "issued list" in output


def test_import_normalises_kind_and_date_under_english_headers(conn: sqlite3.Connection) -> None:
    rows = conn.execute("SELECT serial, kind, not_after, issuer FROM issued_certificates ORDER BY serial").fetchall()
    assert rows == [
        ("999", "person", "2027-12-31", "Ban Cơ yếu Chính phủ"),
        ("a1b", "organisation", "2029-12-31", "Ban Cơ yếu Chính phủ"),
        ("c2d", "person", "2027-12-31", "CA phuc vu cac co quan Dang va Nha nuoc"),
        ("e3f", "organisation", "2024-12-31", "Ban Cơ yếu Chính phủ"),
    ]


def test_a_row_whose_date_or_kind_cannot_be_read_is_refused_with_its_row(tmp_path: Path) -> None:
    conn = new_store(tmp_path / "docflow.db")
    path = tmp_path / "issued.csv"
    path.write_text(
        "Serial,Unit,Type,Valid until\n"
        f"01,{DEPARTMENT},personal,31/12/2027\n"
        f"02,{DEPARTMENT},personal,31/02/2027\n"
        f"03,{DEPARTMENT},robot,31/12/2027\n",
        encoding="utf-8",
    )
    result = import_issued(conn, path)
    assert result.imported == 1
    assert [item.item_name for item in result.rejected] == ["issued.csv row 3", "issued.csv row 4"]
    assert "'31/02/2027' is not a date" in result.rejected[0].reason and "import again" in result.rejected[0].reason
    assert "'robot'" in result.rejected[1].reason and "Cá nhân" in result.rejected[1].reason
    output = CliRunner().invoke(main, ["certs", "import", str(path), "--db", str(tmp_path / "docflow.db")]).output
    assert "từ chối issued.csv row 3" in output
