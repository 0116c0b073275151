"""Issue 18 §1: one definition behind every figure (rate, drill-down, JSON, CSV, legend)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.db import new_store, put_counters, put_unit
from helpers.ingest import assert_counters_exact, counters_of, write_edxml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docflow.cli import main
from docflow.ingest.run import ingest_batch
from docflow.reports.drilldown import RATES, Rate, unit_detail
from docflow.reports.metrics import parse_period
from docflow.store.core import Store
from docflow.store.schema import MIGRATIONS, REASON_WORDS

UNIT = "000.00.04.H04"
RECIPIENT = "000.00.02.H04"
_REGISTER_HEADER = "unit_code,direction,number,notation,date,channel,confidential,counterpart,subject,file\n"


def _common_name(issued: object) -> str:
    from cryptography.x509.oid import NameOID

    return str(issued.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)  # type: ignore[attr-defined]


@pytest.fixture
def supervisor_db(tmp_path: Path, signing: object, trust_dir: Path, person: object, organisation: object) -> Path:
    """The supervisor's store: a register of 23 outgoing documents marked electronic, 3 of them seen on the axis
    as edXML packages carrying a PDF signed as NĐ 30 asks (person, then organisation)."""
    from signatures import TrustStore

    db = tmp_path / "docflow.db"
    rows = "".join(
        f"{UNIT},out,{n},STP-VP,2026-11-{n:02d},electronic,0,{RECIPIENT},Công văn {n},\n" for n in range(1, 24)
    )
    register = tmp_path / "register" / "so-di.csv"
    register.parent.mkdir()
    register.write_text(_REGISTER_HEADER + rows, encoding="utf-8")
    axis = tmp_path / "axis"
    for n in (1, 2, 3):
        pdf = signing.make_pdf(f"Công văn {n}", ["Nội dung"])  # type: ignore[attr-defined]
        signed = signing.sign_pdf(signing.sign_pdf(pdf, person), organisation)  # type: ignore[attr-defined]
        write_edxml(
            axis / f"cv-{n}.edxml", sender=UNIT, sender_name=_common_name(organisation), number=str(n),
            notation="STP-VP", promulgation=date(2026, 11, n), recipients=(RECIPIENT,),
            attachment=(f"cv-{n}.pdf", signed),
        )  # fmt: skip
    trust = TrustStore.load(trust_dir)
    with Store.open(db) as store:
        store.upsert_unit(UNIT, _common_name(organisation), "import")
        assert ingest_batch(register, store, trust).outcome == "ingested"
        assert ingest_batch(axis, store, trust).outcome == "ingested"
    return db


def _summary(db: Path, *args: str, width: int = 80) -> str:
    runner = CliRunner(env={"COLUMNS": str(width)})
    result = runner.invoke(main, ["summary", "--db", str(db), "--period", "2026-11", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_headline_drill_down_json_csv_and_legend_agree(supervisor_db: Path) -> None:
    detail = json.loads(_summary(supervisor_db, "--unit", UNIT, "--json"))
    assert (detail["outgoing"], detail["outgoing_issued_electronic"], detail["outgoing_electronic"]) == (23, 3, 23)
    assert detail["e_issuance_rate"] == pytest.approx(3 / 23)
    failing = {rate: [d for d in detail["failed_documents"] if rate in d["fails"]] for rate in _RATES}
    assert len(failing["e_issuance_rate"]) == detail["outgoing"] - detail["outgoing_issued_electronic"] == 20
    assert len(failing["signature_rate"]) == detail["outgoing_electronic"] - detail["outgoing_signed_valid"] == 20
    assert len(failing["nd30_rate"]) == detail["outgoing_electronic"] - detail["outgoing_nd30"] == 20
    for doc in detail["failed_documents"]:
        # Never seen on the axis: docflow cannot say it is unsigned, only that it was not seen sent.
        assert doc["fails"] == {rate: ["not_sent"] for rate in _RATES}, doc
        assert not any(doc["document_id"].endswith(f",{n}/STP-VP") for n in (1, 2, 3)), doc
    assert "unsigned" not in detail["flags"] and detail["outgoing_unsigned"] == 0
    text = _summary(supervisor_db, "--unit", UNIT, width=200)
    assert "PHĐT 13% (3/23)" in text and "20 văn bản đi chưa phát hành điện tử" in text
    assert "PHĐT, Ký số, NĐ30: không thấy gửi qua" in text
    assert all(f"000.00.04.H04,2026/11/{n:02d},{n}/STP-VP" in text for n in range(4, 24))
    rows = list(csv.DictReader(io.StringIO(_summary(supervisor_db, "--unit", UNIT, "--csv").removeprefix("\ufeff"))))
    assert len(rows) == 20 and {row["e_issuance_rate"] for row in rows} == {"not_sent"}
    summary_rows = csv.DictReader(io.StringIO(_summary(supervisor_db, "--csv").removeprefix("\ufeff")))
    (unit_row,) = [r for r in summary_rows if r["unit"] == UNIT]
    assert (unit_row["outgoing"], unit_row["outgoing_issued_electronic"]) == ("23", "3")
    assert "PHĐT: văn bản đi gửi qua trục liên thông" in _summary(supervisor_db, width=200)


_RATES = ("e_issuance_rate", "signature_rate", "nd30_rate")


# --- the property: over generated stores, each rate's failing documents are its denominator minus its numerator ---

_UNITS = ("000.00.04.H04", "000.00.05.H04")
_MONTHS = ("2026-10", "2026-11")

_signatures = st.sampled_from(
    [  # (count, valid, personal, organisation): only combinations the store can hold
        (0, 0, 0, 0), (1, 0, 0, 0), (1, 1, 1, 0), (1, 1, 0, 1), (2, 1, 1, 1), (2, 1, 1, 0), (2, 1, 0, 1),
    ]
)  # fmt: skip
_documents = st.lists(
    st.tuples(
        st.sampled_from(_UNITS),
        st.sampled_from(_MONTHS),
        st.booleans(),  # confidential (rarely: see the filter below)
        st.sampled_from(("electronic", "paper", "both")),
        st.booleans(),  # sent over the axis
        st.sampled_from(("active", "active", "updated", "revoked", "replaced")),
        _signatures,
        st.sets(st.sampled_from(REASON_WORDS), max_size=2),
    ),
    max_size=30,
)


def _issued(doc: tuple[object, ...]) -> bool:
    """docs/metrics.md, written again independently: over the axis, electronic only, own valid organisation
    signature, not tampered."""
    _, _, _, channel, axis, _, (_, _, _, organisation), reasons = doc  # type: ignore[misc]
    return bool(axis and channel == "electronic" and organisation and "tampered" not in reasons)  # type: ignore[operator]


def _electronic(doc: tuple[object, ...]) -> bool:
    return bool(doc[4] or doc[3] in ("electronic", "both"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(documents=_documents)
def test_failing_documents_are_denominator_minus_numerator(tmp_path_factory: pytest.TempPathFactory, documents) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path_factory.mktemp("generated") / "docflow.db"
    conn = new_store(db)
    for code in _UNITS:
        put_unit(conn, code, f"Sở {code}", "department")
    for number, (unit, month, confidential, channel, axis, status, signed, reasons) in enumerate(documents):
        count, valid, personal, organisation = signed
        conn.execute(
            "INSERT INTO documents (document_id, sender, period, confidential, channel, sent_over_axis,"
            " business_status, signature_count, has_valid_signature, has_valid_personal, has_valid_organisation,"
            " invalid_reasons,"
            " promulgation_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (f"doc-{number}", unit, month, int(confidential and number % 5 == 0), channel, int(axis), status,
             count, valid, personal, organisation, " ".join(w for w in REASON_WORDS if w in reasons), f"{month}-01"),
        )  # fmt: skip
    conn.commit()
    conn.close()
    with Store.open(db) as store:
        store.recompute_counters()
        for unit in _UNITS:
            for month in _MONTHS:
                _check_unit(store.conn, documents, unit, month)


def _check_unit(conn: sqlite3.Connection, documents: list[tuple[object, ...]], unit: str, month: str) -> None:
    counted = {
        f"doc-{n}": doc
        for n, doc in enumerate(documents)
        if doc[0] == unit and doc[1] == month and not (doc[2] and n % 5 == 0) and doc[5] not in ("revoked", "replaced")
    }
    detail = unit_detail(conn, unit, parse_period(month))
    assert detail.summary is not None
    counters = detail.summary.counters
    expected = {
        Rate.E_ISSUANCE: {i for i, doc in counted.items() if not _issued(doc)},
        Rate.SIGNATURE: {i for i, doc in counted.items() if _electronic(doc) and not doc[6][1]},  # type: ignore[index]
        Rate.ND30: {
            i
            for i, doc in counted.items()
            if _electronic(doc) and not (doc[6][2] and doc[6][3])  # type: ignore[index]
        },
    }
    differences = {
        Rate.E_ISSUANCE: counters.outgoing - counters.outgoing_issued_electronic,
        Rate.SIGNATURE: counters.outgoing_electronic - counters.outgoing_signed_valid,
        Rate.ND30: counters.outgoing_electronic - counters.outgoing_nd30,
    }
    assert counters.outgoing == len(counted)
    for rate in RATES:
        failing = {document.document_id for document in detail.failing(rate)}
        assert failing == expected[rate], rate
        assert len(failing) == differences[rate], rate
        assert all(document.fails(rate) for document in detail.failing(rate))  # a reason for each, always


def test_migration_recounts_a_store_kept_by_the_old_rule(tmp_path: Path) -> None:
    """A store written before issue 18 counted a register row saying "electronic" as issued electronically when
    its named file was organisation-signed, and as unsigned when no file was seen; opening it recounts both."""
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    for migration in MIGRATIONS[:9]:
        conn.executescript(migration)
    conn.execute("PRAGMA user_version = 9")
    put_unit(conn, UNIT, "Sở Tư pháp", "department")
    for document_id, axis, count, organisation in (
        ("on-axis", 1, 2, 1),
        ("register-file", 0, 2, 1),
        ("unseen", 0, 0, 0),
    ):
        conn.execute(
            "INSERT INTO documents (document_id, sender, period, channel, sent_over_axis, signature_count,"
            " has_valid_signature, has_valid_personal, has_valid_organisation) VALUES (?, ?, '2026-11', 'electronic',"
            " ?, ?, ?, ?, ?)",
            (document_id, UNIT, axis, count, organisation, organisation, organisation),
        )
    old_rule = dict(outgoing_electronic=3, outgoing_issued_electronic=2, outgoing_signed_valid=2, outgoing_nd30=2)
    put_counters(conn, UNIT, "2026-11", outgoing=3, outgoing_unsigned=1, **old_rule)
    conn.close()
    with Store.open(db) as store:
        assert_counters_exact(store)
        assert counters_of(store, UNIT, "2026-11")["outgoing_issued_electronic"] == 1
        assert "outgoing_unsigned" not in counters_of(store, UNIT, "2026-11")
