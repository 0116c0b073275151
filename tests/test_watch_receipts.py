"""A receipt beside every filed batch: where each hostile batch is filed and what its receipt tells the clerk."""

from __future__ import annotations

import dataclasses
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.ingest import edxml, write_edxml
from helpers.watch import batches_in

from docflow.store.core import Store
from docflow.watch.receipt import split_advice
from docflow.watch.watcher import Watcher, WatchSettings
from samples.pki import Issued
from signatures import TrustStore

RECEIPT_FIELDS = {
    "batch",
    "sha256",
    "outcome",
    "documents",
    "signatures",
    "received_at",
    "rejected_items",
    "signatures_not_passed",
}
UNIT = "000.00.01.H04"
GOOD_ROW = f"{UNIT},out,2,A,2026-01-05,,electronic,0,x,,"
ENGLISH = "unit_code,direction,number,notation,date,type,channel,confidential,subject,counterpart,file"
LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">\n'
    + b"".join(
        b'<!ENTITY lol%d "%s">\n' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10) for n in range(1, 10)
    )
    + b"]>\n<edXML><Subject>&lol9;</Subject></edXML>"
)


@dataclass(frozen=True)
class Filed:
    folder: str
    """``archive`` or ``rejected``."""
    receipt: dict[str, object]
    text: str


def _settings(tmp_path: Path) -> WatchSettings:
    return WatchSettings(inbox=tmp_path / "inbox", db=tmp_path / "d.db", settle_seconds=0.05, poll_interval=0.05)


def _filed(settings: WatchSettings, name: str) -> Filed:
    for folder in (settings.archive_dir, settings.rejected_dir):
        if not folder.exists():
            continue
        for batch in batches_in(folder):
            if batch.name.endswith(f"-{name}"):
                receipt = json.loads(Path(f"{batch}.receipt.json").read_text(encoding="utf-8"))
                return Filed(folder.name, receipt, Path(f"{batch}.receipt.txt").read_text(encoding="utf-8"))
    raise AssertionError(f"{name} was not filed")


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return path


def _tampered_pdf(signing: object, organisation: Issued) -> bytes:
    signed: bytes = signing.sign_pdf(signing.make_pdf("Công văn", ["Nội dung"]), organisation)  # type: ignore[attr-defined]
    at = signed.index(b"/MediaBox [0 0 595")
    return signed[:at] + b"/MediaBox [0 0 596" + signed[at + 18 :]  # one byte inside the signed range


Builder = Callable[[Path], None]


def _csv(path: Path, header: str, *rows: str) -> None:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


HOSTILE: dict[str, tuple[str, Builder, str]] = {
    "register with wrong headers": (
        "so-di.csv",
        lambda path: _csv(path, "ma,huong,so", "1,2,3"),
        "rejected",
    ),
    "register with one bad row": (
        "so-den.csv",
        lambda path: _csv(path, ENGLISH, GOOD_ROW, f"{UNIT},sideways,1,A,2026-01-05,,electronic,0,x,,"),
        "archive",
    ),
    "billion laughs": ("laughs.edxml", lambda path: path.write_bytes(LAUGHS), "rejected"),
    "zip slip alone": (
        "slip.zip",
        lambda path: _zip(path, {"../../evil.edxml": edxml(number="7")}) and None,
        "rejected",
    ),
    "zip slip beside a good file": (
        "mixed.zip",
        lambda path: _zip(path, {"../evil.edxml": edxml(number="8"), "good.edxml": edxml(number="9")}) and None,
        "archive",
    ),
    "not a zip": ("export.zip", lambda path: path.write_bytes(b"this is not a zip archive"), "rejected"),
    "a link": ("link.edxml", lambda path: path.symlink_to("/dev/zero"), "rejected"),
}


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_each_hostile_batch_is_filed_with_a_receipt_that_says_why(tmp_path: Path, case: str) -> None:
    name, build, folder = HOSTILE[case]
    settings = _settings(tmp_path)
    settings.inbox.mkdir()
    build(settings.inbox / name)
    Watcher(settings, trust=None).run(once=True)
    filed = _filed(settings, name)
    assert filed.folder == folder
    assert set(filed.receipt) == RECEIPT_FIELDS
    receipt = filed.receipt
    assert receipt["batch"] == name
    assert receipt["outcome"] == ("rejected" if folder == "rejected" else "ingested")
    refused = receipt["rejected_items"]
    assert isinstance(refused, list) and refused, "every hostile batch has something refused"
    assert all(item["reason"] and item["what_to_do"] and item["item"] for item in refused)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", str(receipt["received_at"]))
    assert "BIÊN NHẬN LÔ VĂN BẢN" in filed.text and "Các mục không được nhận" in filed.text
    assert re.search(r"Thời điểm nhận:\s+\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", filed.text)
    if folder == "rejected":
        assert "KHÔNG TIẾP NHẬN" in filed.text
        assert list(settings.rejected_dir.glob("*.error.json")), "the .error.json stays beside it"
    else:
        assert receipt["documents"] == 1 and "ĐÃ TIẾP NHẬN" in filed.text


def test_receipt_names_the_row_and_what_to_do(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings.inbox.mkdir()
    HOSTILE["register with one bad row"][1](settings.inbox / "so-den.csv")
    HOSTILE["register with wrong headers"][1](settings.inbox / "so-di.csv")
    Watcher(settings, trust=None).run(once=True)
    [row] = _filed(settings, "so-den.csv").receipt["rejected_items"]  # type: ignore[misc]
    assert row["item"] == "so-den.csv row 3" and "sideways" in row["reason"]
    [whole] = _filed(settings, "so-di.csv").receipt["rejected_items"]  # type: ignore[misc]
    assert "header" in whole["reason"] and whole["what_to_do"]
    with Store.open_readonly(settings.db) as store:
        # The store still says what it read: nothing was hidden by filing it in rejected/.
        rows = store.conn.execute("SELECT file_name, outcome, rejected_items FROM batches ORDER BY 1").fetchall()
    assert rows == [("so-den.csv", "ingested", 1), ("so-di.csv", "ingested", 1)]


def test_tampered_pdf_is_listed_among_signatures_not_passed(
    tmp_path: Path, signing: object, organisation: Issued, trust_dir: Path
) -> None:
    settings = _settings(tmp_path)
    write_edxml(settings.inbox / "cv.edxml", number="3", attachment=("cv.pdf", _tampered_pdf(signing, organisation)))
    Watcher(settings, trust=TrustStore.load(trust_dir)).run(once=True)
    filed = _filed(settings, "cv.edxml")
    assert filed.folder == "archive" and filed.receipt["outcome"] == "ingested"
    [signature] = filed.receipt["signatures_not_passed"]  # type: ignore[misc]
    assert signature["document"].endswith("3/SNV-VP")
    assert signature["signer"] and "CN=" not in signature["signer"]
    assert signature["verdict"].startswith("failed")
    assert "Chữ ký số không đạt (1)" in filed.text and "không hợp lệ" in filed.text


def test_documents_count_what_was_stored_not_what_was_read(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    write_edxml(settings.inbox / "first.edxml", number="1")
    Watcher(settings, trust=None).run(once=True)
    folder = settings.inbox / "second"
    write_edxml(folder / "again.edxml", number="1")  # the same document, already stored
    write_edxml(folder / "new.edxml", number="2")
    Watcher(settings, trust=None).run(once=True)
    filed = _filed(settings, "second")
    assert filed.receipt["documents"] == 2
    assert "mới: 1, cập nhật: 1" in filed.text


def test_a_duplicate_keeps_the_first_receipt_and_gets_its_own(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings.inbox.mkdir()
    HOSTILE["register with wrong headers"][1](settings.inbox / "so-di.csv")
    Watcher(settings, trust=None).run(once=True)
    HOSTILE["register with wrong headers"][1](settings.inbox / "so-di-lan-2.csv")
    Watcher(settings, trust=None).run(once=True)
    first, again = _filed(settings, "so-di.csv"), _filed(settings, "so-di-lan-2.csv")
    assert first.receipt["outcome"] == "rejected" and again.receipt["outcome"] == "duplicate"
    assert again.folder == "rejected", "a copy of a batch nothing was accepted from is filed where the first went"
    assert "ĐÃ ĐƯỢC XỬ LÝ TRƯỚC ĐÓ" in again.text


@pytest.mark.parametrize(
    ("reason", "what_to_do"),
    [
        ("the file is empty; ask the sender to re-export", "Ask the sender to re-export"),
        ("edXML file is not well-formed XML (line 3): x — ask the sender to re-export", "Ask the sender to re-export"),
        ("direction 'sideways' is not recognised", None),
    ],
)
def test_reasons_are_split_from_what_to_do(reason: str, what_to_do: str | None) -> None:
    shown_reason, shown_what_to_do = split_advice(reason)
    if what_to_do is None:
        assert shown_reason == reason and shown_what_to_do
    else:
        assert shown_what_to_do == what_to_do and what_to_do.lower() not in shown_reason.lower()


def test_already_processed_says_when_in_vietnam_time(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    write_edxml(settings.inbox / "a.edxml")
    Watcher(settings, trust=None).run(once=True)
    write_edxml(settings.inbox / "b.edxml")
    [outcome] = Watcher(settings, trust=None).run(once=True).outcomes
    assert re.match(r"already processed on \d\d/\d\d/\d{4} \d\d:\d\d:\d\d as a\.edxml", outcome.reason or "")


def test_receipt_times_follow_the_display_zone(tmp_path: Path) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    settings = dataclasses.replace(_settings(tmp_path), zone=ZoneInfo("Europe/Paris"))
    write_edxml(settings.inbox / "a.edxml")
    Watcher(settings, trust=None).run(once=True)
    filed = _filed(settings, "a.edxml")
    received = datetime.fromisoformat(str(filed.receipt["received_at"]))
    shown = received.astimezone(ZoneInfo("Europe/Paris")).strftime("%d/%m/%Y %H:%M:%S")
    assert f"{shown} (múi giờ Europe/Paris)" in filed.text
    assert "giờ Việt Nam" not in filed.text
