"""Issue 14, item 14: a package that declares ISO-8859-1 over UTF-8 bytes is read as UTF-8 (with a note), and a
garbled unit name already stored gives way to a clean one, with the level derived again."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from helpers.db import DISTRICT
from helpers.ingest import edxml, table

from docflow.ingest.run import ingest_batch
from docflow.readers.edxml import read_edxml
from docflow.readers.mojibake import garbled
from docflow.records import DocumentRecord
from docflow.store.core import Store

DISTRICT_NAME = "UBND huyện Ba Bể"
GARBLED = DISTRICT_NAME.encode("utf-8").decode("cp1252", errors="replace")


def _misdeclared(encoding: str = "ISO-8859-1") -> bytes:
    return edxml(sender=DISTRICT, sender_name=DISTRICT_NAME).replace(
        b'encoding="UTF-8"', f'encoding="{encoding}"'.encode()
    )


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "windows-1252", "latin1", "windows-1258"])
def test_utf8_bytes_under_a_single_byte_declaration_are_read_as_utf8_with_a_note(
    encoding: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="docflow"):
        [record] = read_edxml("p.edxml", _misdeclared(encoding))
    assert isinstance(record, DocumentRecord)
    assert record.sender_name == DISTRICT_NAME and record.subject == "Về việc thử nghiệm 1"
    assert any("p.edxml" in message and encoding in message and "UTF-8" in message for message in caplog.messages)


def test_real_latin1_text_is_still_read_as_latin1() -> None:
    data = edxml(sender=DISTRICT, sender_name="Café").replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')
    data = data.replace("Café".encode(), "Café".encode("latin-1")).replace("Về việc thử nghiệm 1".encode(), b"Resume")
    data = data.replace("Bắc Kạn".encode(), b"Bac Kan").replace("Công văn".encode(), b"Cong van")
    [record] = read_edxml("p.edxml", data)
    assert isinstance(record, DocumentRecord) and record.sender_name == "Café"


def test_misdeclared_package_gives_a_clean_name_and_the_right_level(tmp_path: Path) -> None:
    (tmp_path / "p.edxml").write_bytes(_misdeclared())
    with Store.open(tmp_path / "docflow.db") as store:
        assert ingest_batch(tmp_path / "p.edxml", store, None).outcome == "ingested"
        assert table(store, "SELECT name, level FROM units WHERE code = ?", DISTRICT) == [(DISTRICT_NAME, "district")]


def test_a_later_clean_name_replaces_a_garbled_one_and_the_level_follows(tmp_path: Path) -> None:
    with Store.open(tmp_path / "docflow.db") as store:
        store.upsert_unit(DISTRICT, GARBLED, "edxml")
        assert table(store, "SELECT level FROM units WHERE code = ?", DISTRICT) == [("department",)]
        store.upsert_unit(DISTRICT, DISTRICT_NAME, "edxml")
        assert table(store, "SELECT name, level FROM units WHERE code = ?", DISTRICT) == [(DISTRICT_NAME, "district")]
        store.upsert_unit(DISTRICT, GARBLED, "edxml")  # a clean name is never given up for a garbled one
        store.upsert_unit(DISTRICT, "UBND huyện Khác", "edxml")  # nor for another clean one
        assert table(store, "SELECT name FROM units WHERE code = ?", DISTRICT) == [(DISTRICT_NAME,)]


def test_a_replacement_character_is_garbled_too(tmp_path: Path) -> None:
    with Store.open(tmp_path / "docflow.db") as store:
        store.upsert_unit(DISTRICT, "UBND huy\ufffdn Ba B\ufffd", "register")
        store.upsert_unit(DISTRICT, DISTRICT_NAME, "edxml")
        assert table(store, "SELECT name, level FROM units WHERE code = ?", DISTRICT) == [(DISTRICT_NAME, "district")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GARBLED, True),
        (DISTRICT_NAME.encode().decode("latin-1"), True),
        ("Sở Nội vụ", False),
        ("Café", False),
        ("Cà Mau", False),
        ("plain", False),
        (None, False),
        ("a\ufffdb", True),
    ],
)
def test_garbled_recognises_utf8_read_one_byte_at_a_time(text: str | None, expected: bool) -> None:
    assert garbled(text) is expected
