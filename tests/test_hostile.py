"""A corpus of attacks, each with the clear rejection a clerk or administrator can act on.

Every attack file is generated in ``tmp_path`` (no hostile binaries are committed); what
each one must produce is written next to it. The auditor-SQL section proves the read-only
path refuses every way of changing the store, attaching another file or loading code.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from helpers.edxml import zip_bytes
from helpers.hostile import time_limit
from helpers.ingest import edxml, write_edxml
from helpers.watch import batches_in

from docflow.cli import main as cli_main
from docflow.ingest.run import ingest_batch
from docflow.readers.archive import BatchUnreadable
from docflow.readers.batch import read_batch
from docflow.readers.edxml import read_edxml
from docflow.readers.limits import Limits
from docflow.readers.register import read_register
from docflow.records import DocumentRecord, RejectedItem
from docflow.reports.audit import ReadOnlyError, open_readonly, run_sql
from docflow.store.core import Store
from samples.pdfgen import break_byte_range, make_pdf, sign_pdf
from samples.pki import Issued
from samples.sign import sign_cms
from signatures import verify_cms, verify_pdf
from signatures.verdict import CheckName, CheckOutcome, Indication


def _read_all(path: Path, limits: Limits = Limits()) -> list[object]:
    with time_limit():
        return list(read_batch(path, limits))


def _rejections(items: list[object]) -> dict[str, str]:
    return {item.item_name: item.reason for item in items if isinstance(item, RejectedItem)}


def _documents(items: list[object]) -> list[DocumentRecord]:
    return [item for item in items if isinstance(item, DocumentRecord)]


def _write_zip(path: Path, members: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    path.write_bytes(zip_bytes(members))
    return path


# -- zips -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "evil_name",
    [
        "../../evil.edxml",
        "/etc/evil.edxml",
        "C:/Windows/evil.edxml",
        "..\\..\\evil.edxml",
        "ok/../../evil.edxml",
    ],
)
def test_zip_slip_member_is_refused_and_nothing_is_written_outside(tmp_path: Path, evil_name: str) -> None:
    batch = _write_zip(tmp_path / "batch.zip", [(evil_name, edxml(number="1")), ("good.edxml", edxml(number="2"))])
    before = sorted(p.name for p in tmp_path.parent.iterdir())
    items = _read_all(batch)
    assert "zip slip" in _rejections(items)[evil_name]
    assert [record.number for record in _documents(items)] == ["2"]
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == before


def test_symlink_member_in_zip_is_refused(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("link.edxml")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    batch = _write_zip(tmp_path / "batch.zip", [(link, b"/etc/passwd"), ("good.edxml", edxml())])
    items = _read_all(batch)
    assert "symbolic link" in _rejections(items)["link.edxml"]
    assert len(_documents(items)) == 1


def test_symlinks_in_folder_batch_are_refused_and_never_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.edxml"
    write_edxml(secret, number="666")
    batch = tmp_path / "batch"
    write_edxml(batch / "good.edxml", number="1")
    (batch / "link.edxml").symlink_to(secret)
    (batch / "dirlink").symlink_to(tmp_path)
    items = _read_all(batch)
    rejected = _rejections(items)
    assert "symbolic link" in rejected["link.edxml"]
    assert "symbolic link" in rejected["dirlink"]
    assert [record.number for record in _documents(items)] == ["1"]


def test_batch_that_is_itself_a_symlink_is_unreadable(tmp_path: Path) -> None:
    target = write_edxml(tmp_path / "real.edxml")
    (tmp_path / "link.edxml").symlink_to(target)
    with pytest.raises(BatchUnreadable, match="symbolic link"):
        _read_all(tmp_path / "link.edxml")


def test_hard_link_in_folder_batch_is_read_as_the_ordinary_file_it_is(tmp_path: Path) -> None:
    # A hard link is indistinguishable from a copy: reading it leaks nothing the clerk could not copy.
    outside = write_edxml(tmp_path / "outside.edxml", number="7")
    batch = tmp_path / "batch"
    batch.mkdir()
    os.link(outside, batch / "hard.edxml")
    items = _read_all(batch)
    assert [record.number for record in _documents(items)] == ["7"]
    assert _rejections(items) == {}


def test_zip_bomb_by_ratio_is_refused_before_unpacking(tmp_path: Path) -> None:
    batch = _write_zip(tmp_path / "bomb.zip", [("zeros.pdf", bytes(20 << 20)), ("good.edxml", edxml())])
    assert batch.stat().st_size < 200_000
    items = _read_all(batch)
    assert "zip bomb" in _rejections(items)["zeros.pdf"]
    assert len(_documents(items)) == 1


def test_zip_bomb_by_total_declared_size_is_refused_whole(tmp_path: Path) -> None:
    members = [(f"part-{n}.pdf", os.urandom(300_000)) for n in range(5)]
    batch = tmp_path / "big.zip"
    batch.write_bytes(zip_bytes(members, zipfile.ZIP_STORED))
    items = _read_all(batch, Limits(max_total_uncompressed_bytes=1 << 20))
    assert len(items) == 1 and isinstance(items[0], RejectedItem)
    assert "zip bomb" in items[0].reason


def test_nested_zips_deeper_than_the_limit_are_not_opened(tmp_path: Path) -> None:
    inner = zip_bytes([("deep.edxml", edxml(number="3"))])
    for level in range(4):
        inner = zip_bytes([(f"level-{level}.zip", inner)])
    batch = tmp_path / "nested.zip"
    batch.write_bytes(zip_bytes([("outer.zip", inner), ("top.edxml", edxml(number="1"))]))
    items = _read_all(batch)
    assert any("nested more than" in reason for reason in _rejections(items).values())
    assert [record.number for record in _documents(items)] == ["1"]


def test_many_members_over_the_limit_are_refused_whole(tmp_path: Path) -> None:
    batch = _write_zip(tmp_path / "many.zip", [(f"f{n}.edxml", b"<x/>") for n in range(60)])
    items = _read_all(batch, Limits(max_members=50))
    assert len(items) == 1 and "over the limit" in items[0].reason  # type: ignore[attr-defined]


def test_encrypted_member_is_refused_with_a_clear_reason(tmp_path: Path) -> None:
    data = bytearray(zip_bytes([("locked.edxml", edxml()), ("good.edxml", edxml(number="2"))]))
    # Set the "encrypted" flag bit on the first member in both headers: zipfile then demands a password.
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    data[local + 6] |= 1
    data[central + 8] |= 1
    batch = tmp_path / "locked.zip"
    batch.write_bytes(bytes(data))
    items = _read_all(batch)
    assert "password" in _rejections(items)["locked.edxml"]


# -- names ----------------------------------------------------------------------------------


def test_control_characters_in_zip_member_names_are_refused(tmp_path: Path) -> None:
    evil = "report\x1b[31m\r\n.edxml"
    batch = _write_zip(tmp_path / "names.zip", [(evil, edxml()), ("good.edxml", edxml(number="2"))])
    items = _read_all(batch)
    assert "control characters" in _rejections(items)[evil]
    assert len(_documents(items)) == 1


def test_nul_byte_in_zip_member_name_cannot_disguise_its_kind(tmp_path: Path) -> None:
    # zipfile cuts names at NUL, so "x.pdf\0.edxml" is read as x.pdf: the kind follows the visible name.
    batch = _write_zip(tmp_path / "nul.zip", [("x.pdf\x00.edxml", edxml()), ("good.edxml", edxml(number="2"))])
    items = _read_all(batch)
    assert "not a PDF" in _rejections(items)["x.pdf"]
    assert [record.number for record in _documents(items)] == ["2"]


# Names starting with "." are hidden/temporary by the watcher's rule and wait in the inbox, so the
# path-looking names here start elsewhere.
@pytest.mark.parametrize(
    "name",
    [
        "C:\\Windows\\..\\..\\system32.edxml",
        "x\\..\\..\\etc\\passwd.edxml",
        "-rf --no-preserve-root.edxml",
        "bảng\x07kê\x1b.edxml",
        "a\nb.edxml",
        "x" * 240 + ".edxml",
        "ý" * 120 + ".edxml",
    ],
)
def test_files_named_to_look_like_paths_or_commands_are_ingested_once_and_filed_inside_the_inbox(
    tmp_path: Path, name: str
) -> None:
    from docflow.watch.watcher import Watcher, WatchSettings

    inbox = tmp_path / "inbox"
    write_edxml(inbox / name, number="5")
    settings = WatchSettings(inbox=inbox, db=tmp_path / "d.db", settle_seconds=0.0)
    with time_limit():
        report = Watcher(settings, None).run(once=True)
    assert [outcome.outcome for outcome in report.outcomes] == ["ingested"]
    assert [p.name for p in inbox.iterdir() if p.is_file()] == []
    [filed] = batches_in(inbox / "archive")
    # Names too long for the hash prefix are shortened in the middle, keeping the extension.
    assert filed.name.endswith(name) or (filed.name.endswith("~.edxml") and len(filed.name.encode()) <= 255 - 11)
    assert not any(p.name.endswith(".edxml") for p in tmp_path.iterdir())


# -- edXML ----------------------------------------------------------------------------------

_LAUGHS = (
    b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
"""
    + b"".join(
        b'<!ENTITY lol%d "%s">\n' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10) for n in range(1, 10)
    )
    + b"]>\n<edXML><Subject>&lol9;</Subject></edXML>"
)

_EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY leak SYSTEM "file:///etc/passwd">]>
<edXML><Subject>&leak;</Subject></edXML>"""

_PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<edXML/>"""


@pytest.mark.parametrize("attack", [_LAUGHS, _EXTERNAL, _PARAMETER], ids=["billion-laughs", "xxe", "parameter-entity"])
def test_entity_attacks_in_edxml_are_refused_with_the_reason(attack: bytes) -> None:
    with time_limit():
        items = read_edxml("attack.edxml", attack)
    assert len(items) == 1 and isinstance(items[0], RejectedItem)
    assert "DOCTYPE" in items[0].reason
    assert "root:" not in items[0].reason


def test_xxe_in_a_batch_leaves_no_trace_of_the_file_in_the_store(tmp_path: Path) -> None:
    batch = tmp_path / "xxe.edxml"
    batch.write_bytes(_EXTERNAL)
    with Store.open(tmp_path / "d.db") as store:
        outcome = ingest_batch(batch, store, None)
        dumped = "\n".join(store.conn.iterdump())
    assert outcome.outcome == "ingested" and outcome.rejected_items == 1 and outcome.documents == 0
    assert "root:x:0:0" not in dumped


def test_extremely_long_edxml_field_is_refused_not_stored(tmp_path: Path) -> None:
    data = edxml(notation="X" * 200_000)
    items = read_edxml("long.edxml", data)
    assert len(items) == 1 and isinstance(items[0], RejectedItem)
    assert "long" in items[0].reason or "limit" in items[0].reason


def test_extremely_long_register_field_is_refused_row_by_row() -> None:
    header = "so_ky_hieu,ngay_van_ban,trich_yeu,don_vi_nhan\n"
    rows = "1/SNV,2024-03-01,ok,000.00.02.H04\n2/SNV,2024-03-01," + "Z" * 500_000 + ",000.00.02.H04\n"
    items = read_register("so.csv", (header + rows).encode())
    rejected = [item for item in items if isinstance(item, RejectedItem)]
    assert rejected, items
    assert all(len(item.reason) < 2000 for item in rejected)


def test_nul_and_control_bytes_in_register_and_edxml_never_crash() -> None:
    register = b"so_ky_hieu,ngay_van_ban\n1/\x00SNV,2024-03-01\n\x1b[2J,\x00\n"
    assert all(isinstance(item, (RejectedItem, DocumentRecord)) for item in read_register("so.csv", register))
    broken = edxml().replace(b"Bac", b"B\x00ac").replace(b"<edXML:Subject>", b"<edXML:Subject>\x01\x02")
    items = read_edxml("ctl.edxml", broken)
    assert len(items) == 1 and isinstance(items[0], RejectedItem)


# -- signatures -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["overlap", "gap"])
def test_pdf_whose_byte_ranges_overlap_or_leave_a_gap_fails_on_byte_range(
    mode: str, person: Issued, trust_dir: Path
) -> None:
    signed = sign_pdf(make_pdf("QĐ", ["Điều 1."]), person)
    assert verify_pdf(signed, trust=trust_dir)[0].passed
    broken = break_byte_range(signed, mode)
    with time_limit():
        verdicts = verify_pdf(broken, trust=trust_dir)
    assert len(verdicts) == 1 and not verdicts[0].passed
    check = verdicts[0].check(CheckName.BYTE_RANGE)
    assert verdicts[0].indication is Indication.TOTAL_FAILED
    assert check is None or check.outcome is CheckOutcome.FAILED or "range" in verdicts[0].reason.lower()


def _junk_certificates(count: int) -> list[x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    start = datetime(2020, 1, 1, tzinfo=UTC)
    certificates = []
    for serial in range(1, count + 1):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"junk {serial}")])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=3650))
        )
        certificates.append(builder.sign(key, hashes.SHA256()))
    return certificates


def test_cms_with_thousands_of_certificates_is_bounded(person: Issued, trust_dir: Path) -> None:
    content = b"noi dung van ban"
    signature = sign_cms(content, person, extra_certs=_junk_certificates(3000))
    assert len(signature) > 500_000
    with time_limit():
        verdicts = verify_cms(signature, content, trust=trust_dir)
    assert len(verdicts) == 1
    assert verdicts[0].passed or "certificate" in verdicts[0].reason.lower()


def _with_signers(signature: bytes, count: int) -> bytes:
    info = asn1_cms.ContentInfo.load(signature)
    signed_data = info["content"]
    signer = signed_data["signer_infos"][0]
    many = asn1_cms.SignerInfos([signer.copy() for _ in range(count)])
    rebuilt = asn1_cms.SignedData(
        {
            "version": signed_data["version"],
            "digest_algorithms": signed_data["digest_algorithms"],
            "encap_content_info": signed_data["encap_content_info"],
            "certificates": signed_data["certificates"],
            "signer_infos": many,
        }
    )
    return asn1_cms.ContentInfo({"content_type": "signed_data", "content": rebuilt}).dump()


def test_cms_with_thousands_of_signers_is_bounded(person: Issued, trust_dir: Path) -> None:
    content = b"noi dung van ban"
    signature = _with_signers(sign_cms(content, person), 2000)
    with time_limit():
        verdicts = verify_cms(signature, content, trust=trust_dir)
    # Either every signer is reported, or the file is refused with one clear verdict.
    assert len(verdicts) in (1, 2000)
    if len(verdicts) == 1:
        assert not verdicts[0].passed and verdicts[0].reason
    else:
        assert all(verdict.passed for verdict in verdicts)


@pytest.mark.parametrize(
    "garbage", [b"", b"\x30", b"\x30\x84\xff\xff\xff\xff", b"%PDF-1.7\n" + b"\x00" * 1000, b"\x30\x80" * 5000]
)
def test_truncated_and_malformed_signatures_become_verdicts(garbage: bytes, trust_dir: Path) -> None:
    with time_limit():
        cms_verdicts = verify_cms(garbage, b"x", trust=trust_dir)
        pdf_verdicts = verify_pdf(garbage, trust=trust_dir)
    assert all(not verdict.passed and verdict.reason for verdict in [*cms_verdicts, *pdf_verdicts])
    assert cms_verdicts, "a CMS that cannot be read must still yield a verdict saying so"


# -- auditor SQL ----------------------------------------------------------------------------

_REFUSED_SQL = [
    "INSERT INTO units(code) VALUES ('x')",
    "UPDATE batches SET outcome = 'ingested'",
    "DELETE FROM documents",
    "DROP TABLE documents",
    "CREATE TABLE evil(x)",
    "CREATE TEMP TABLE evil(x)",
    "CREATE VIEW evil AS SELECT 1",
    "REPLACE INTO units(code) VALUES ('x')",
    "WITH x AS (SELECT 1) DELETE FROM documents",
    "ATTACH DATABASE ':memory:' AS other",
    "ATTACH DATABASE '{other}' AS other",
    "DETACH DATABASE main",
    "SELECT load_extension('/tmp/evil.so')",
    "PRAGMA query_only = OFF",
    "PRAGMA writable_schema = ON",
    "PRAGMA journal_mode = DELETE",
    "PRAGMA user_version = 99",
    "PRAGMA foreign_keys = OFF",
    "PRAGMA temp_store_directory = '/tmp'",
    "SELECT * FROM pragma_user_version(5)",
    "VACUUM",
    "VACUUM INTO '{other}'",
    "REINDEX",
    "ANALYZE",
    "BEGIN IMMEDIATE",
    "SELECT 1; DELETE FROM documents",
    "INSERT INTO units(code) SELECT code FROM units",
]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A store with one batch ingested, checkpointed: what an auditor opens."""
    path = tmp_path / "d.db"
    write_edxml(tmp_path / "b.edxml", number="1")
    with Store.open(path) as store:
        ingest_batch(tmp_path / "b.edxml", store, None)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _digest(db: Path) -> str:
    """The database and its write-ahead log (the -shm index is rebuilt by every reader, so it is left out)."""
    files = [db, db.with_name(db.name + "-wal")]
    return hashlib.sha256(b"".join(p.read_bytes() for p in files if p.exists())).hexdigest()


@pytest.mark.parametrize("query", _REFUSED_SQL)
def test_auditor_sql_refuses_every_change(db: Path, query: str) -> None:
    other = db.parent / "other.db"
    before = _digest(db)
    conn = open_readonly(db)
    try:
        with pytest.raises(ReadOnlyError):
            run_sql(conn, query.format(other=other))
        # The connection is still read-only after the attempt.
        assert run_sql(conn, "PRAGMA query_only").rows == ((1,),)
        assert run_sql(conn, "SELECT count(*) FROM documents").rows == ((1,),)
    finally:
        conn.close()
    assert _digest(db) == before
    assert not other.exists()


@pytest.mark.parametrize(
    "query",
    [
        "SELECT count(*) FROM documents",
        "PRAGMA table_info(documents)",
        "PRAGMA integrity_check",
        "WITH d AS (SELECT * FROM documents) SELECT count(*) FROM d",
    ],
)
def test_auditor_sql_still_answers_read_queries(db: Path, query: str) -> None:
    conn = open_readonly(db)
    try:
        assert run_sql(conn, query).rows
    finally:
        conn.close()


@pytest.mark.parametrize(
    "query",
    ["DELETE FROM documents", "ATTACH DATABASE ':memory:' AS x", "SELECT load_extension('x')", "PRAGMA query_only=0"],
)
def test_docflow_sql_command_refuses_changes_with_one_line_and_exit_code(db: Path, query: str) -> None:
    before = _digest(db)
    result = CliRunner().invoke(cli_main, ["sql", "--db", str(db), query])
    assert result.exit_code != 0
    assert "từ chối" in result.output or "chỉ đọc" in result.output  # Vietnamese by default
    assert "Traceback" not in result.output
    assert _digest(db) == before
