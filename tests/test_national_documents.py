"""``docflow rollup --documents STORE``: a province store's own documents into the national store, on SQLite and on
PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from docflow.cli import main
from docflow.i18n import set_language
from docflow.ingest.run import ingest_batch
from docflow.store.core import Store
from docflow.store.database import open_database
from docflow.store.location import parse_location
from docflow.store.national import NATIONAL_SCHEMA, NATIONAL_SCHEMA_VERSION, prepare_national
from samples.province import build_province
from signatures import TrustStore


@pytest.fixture(autouse=True)
def _english() -> None:
    set_language("en")


@pytest.fixture(scope="module")
def province_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample province (Bắc Kạn, H04) ingested into an SQLite store, with its unit list imported."""
    build = build_province(tmp_path_factory.mktemp("province"), scale=0.1)
    path = tmp_path_factory.mktemp("store") / "docflow.db"
    trust = TrustStore.load(build.trust_dir)
    with Store.open(path) as store:
        for batch in sorted(build.inbox.iterdir()):
            ingest_batch(batch, store, trust)
    assert _cli("units", "import", str(build.units_file), "--db", str(path)).exit_code == 0
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def national_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "national.db")
    return request.getfixturevalue("postgres_server").new_database()  # type: ignore[no-any-return]


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, ["--lang", "en", *args])


def _own_documents(store: Path) -> list[str]:
    with sqlite3.connect(store) as conn:
        rows = conn.execute("SELECT document_id, sender FROM documents WHERE period LIKE '2025-%'").fetchall()
    return sorted(document_id for document_id, sender in rows if str(sender).endswith(".H04"))


def _national_ids(url: str) -> list[str]:
    with open_database(parse_location(url), readonly=True) as db:
        return [row[0] for row in db.execute("SELECT document_id FROM national_documents ORDER BY document_id")]


def test_a_province_stores_own_documents_are_rolled_in_once(national_url: str, province_store: Path) -> None:
    expected = _own_documents(province_store)
    assert expected
    done = _cli("rollup", "--db", national_url, "--period", "2025", "--documents", str(province_store), "--json")
    assert done.exit_code == 0, done.output
    (said,) = json.loads(done.output)
    assert said["outcome"] == "added" and said["province"] == "H04" and said["documents"] == len(expected)
    assert _national_ids(national_url) == expected
    again = _cli("rollup", "--db", national_url, "--period", "2025", "--documents", str(province_store), "--json")
    (said,) = json.loads(again.output)
    assert said["outcome"] == "replaced" and said["previous_documents"] == len(expected)
    assert _national_ids(national_url) == expected  # replaced, not added to


def test_a_document_held_by_another_province_refuses_the_whole_store(national_url: str, province_store: Path) -> None:
    expected = _own_documents(province_store)
    with open_database(parse_location(national_url)) as db:
        prepare_national(db, create=True)
        with db.transaction():
            db.execute(
                "INSERT INTO national_documents (document_id, province, period, confidential, channel, sent_over_axis,"
                " business_status, signature_count, has_valid_signature, has_valid_personal, has_valid_organisation,"
                " invalid_reasons) VALUES (?, 'H55', '2025-01', 0, 'paper', 0, 'active', 0, 0, 0, 0, '')",
                (expected[0],),
            )
    refused = _cli("rollup", "--db", national_url, "--period", "2025", "--documents", str(province_store))
    assert refused.exit_code == 1
    assert "held by another province" in refused.output and "H55" in refused.output
    assert _national_ids(national_url) == [expected[0]]  # nothing of the refused store was written


def test_a_national_store_of_version_1_gains_the_documents_table(national_url: str, province_store: Path) -> None:
    with open_database(parse_location(national_url)) as db, db.transaction():
        for statement in NATIONAL_SCHEMA:
            db.execute(statement)
        db.execute("INSERT INTO national_meta (name, value) VALUES ('kind', 'national'), ('schema_version', '1')")
    done = _cli("rollup", "--db", national_url, "--period", "2025", "--documents", str(province_store))
    assert done.exit_code == 0, done.output
    with open_database(parse_location(national_url), readonly=True) as db:
        version = db.execute("SELECT value FROM national_meta WHERE name = 'schema_version'").fetchone()[0]
    assert int(version) == NATIONAL_SCHEMA_VERSION and _national_ids(national_url)


def test_rollup_needs_an_export_or_a_store(tmp_path: Path) -> None:
    done = _cli("rollup", "--db", str(tmp_path / "national.db"), "--period", "2025")
    assert done.exit_code == 2 and "--documents" in done.output


def test_a_province_store_on_postgresql_is_named_without_its_password(postgres_server: Any, tmp_path: Path) -> None:
    store_url = postgres_server.new_database()
    Store.open(store_url).close()  # an empty province store on the server
    with_password = f"{store_url}&password=secret" if "?" in store_url else f"{store_url}?password=secret"
    national = str(tmp_path / "national.db")
    for extra in ((), ("--json",)):
        done = _cli("rollup", "--db", national, "--period", "2025", "--province", "H04", "--documents", with_password,
                    *extra)  # fmt: skip
        assert done.exit_code == 0, done.output
        assert "secret" not in done.output and "password=***" in done.output
