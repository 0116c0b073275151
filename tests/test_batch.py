"""Batches: folders, zips and single files, pairing, and every hostile-archive rejection."""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.edxml import PDF, document, write_zip, zip_bytes

from docflow.readers.archive import BatchUnreadable
from docflow.readers.batch import read_batch
from docflow.readers.limits import Limits
from docflow.records import DocumentRecord, RejectedItem, SignedPayload, StatusEvent
from samples.edxml import build_status

REGISTER = (
    b"unit_code,direction,number,notation,date,channel,file\n"
    b"000.00.01.H04,out,12,SNV-VP,2026-03-02,electronic,signed/QD-12.pdf\n"
    b"000.00.01.H04,out,13,SNV-VP,2026-03-02,paper,\n"
)


def _items(path: Path, **kwargs: object) -> list[object]:
    return list(read_batch(path, **kwargs))  # type: ignore[arg-type]


def _rejections(items: list[object]) -> dict[str, str]:
    return {item.item_name: item.reason for item in items if isinstance(item, RejectedItem)}


def _of(items: list[object], kind: type) -> list:
    return [item for item in items if isinstance(item, kind)]


def _patch_central(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    """Rewrite one field of the first central-directory entry (zip headers can say anything)."""
    at = data.index(b"PK\x01\x02") + offset
    return data[:at] + struct.pack(fmt, value) + data[at + struct.calcsize(fmt) :]


def test_read_batch_is_a_lazy_stream(tmp_path: Path) -> None:
    (tmp_path / "a.edxml").write_bytes(document())
    assert isinstance(read_batch(tmp_path), Iterator)


def test_folder_with_register_edxml_pdf_and_temp_files(tmp_path: Path) -> None:
    (tmp_path / "registers").mkdir()
    (tmp_path / "registers" / "so-di.csv").write_bytes(REGISTER)
    (tmp_path / "registers" / "signed").mkdir()
    (tmp_path / "registers" / "signed" / "QD-12.pdf").write_bytes(PDF)
    (tmp_path / "cv-1.edxml").write_bytes(document(number="1"))
    for temp in ("half.pdf.part", "~$so-di.csv", "x.tmp", ".DS_Store", "dl.crdownload"):
        (tmp_path / temp).write_bytes(b"junk")
    items = _items(tmp_path)
    assert not _rejections(items)
    records = _of(items, DocumentRecord)
    assert sorted(r.number for r in records) == ["1", "12", "13"]
    by_number = {r.number: r for r in records}
    assert by_number["12"].payload_names == ("registers/signed/QD-12.pdf",)
    assert by_number["13"].payload_names == ()
    # The referenced PDF comes as a bare payload under the same name: ingestion joins them.
    assert [(p.name, p.kind) for p in _of(items, SignedPayload)] == [("registers/signed/QD-12.pdf", "pdf")]


def test_register_naming_a_missing_file_keeps_the_row_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "so-di.csv").write_bytes(REGISTER)
    items = _items(tmp_path)
    assert len(_of(items, DocumentRecord)) == 2
    assert "'signed/QD-12.pdf', which is not in the batch" in _rejections(items)["so-di.csv row 2"]


def test_detached_signature_pairs_with_its_file(tmp_path: Path) -> None:
    write_zip(
        tmp_path / "b.zip",
        {"cv.docx": b"word bytes", "cv.docx.p7s": b"cms", "orphan.pdf.p7s": b"cms", "signed.p7m": b"cms-attached"},
    )
    items = _items(tmp_path / "b.zip")
    payloads = {p.name: p for p in _of(items, SignedPayload)}
    assert set(payloads) == {"cv.docx.p7s", "signed.p7m"}
    assert (payloads["cv.docx.p7s"].kind, payloads["cv.docx.p7s"].content) == ("cms-detached", b"word bytes")
    assert payloads["signed.p7m"].kind == "cms-attached"
    assert "without the file it signs" in _rejections(items)["orphan.pdf.p7s"]


def test_register_row_naming_a_detached_file_points_at_its_signature(tmp_path: Path) -> None:
    register = (
        b"unit_code,direction,number,notation,date,channel,file\n000.00.01.H04,out,1,A,2026-03-02,electronic,cv.docx\n"
    )
    write_zip(tmp_path / "b.zip", {"so-di.csv": register, "cv.docx": b"w", "cv.docx.p7s": b"c"})
    [record] = _of(_items(tmp_path / "b.zip"), DocumentRecord)
    assert record.payload_names == ("cv.docx.p7s",)


def test_zip_with_edxml_status_and_nested_zip(tmp_path: Path) -> None:
    inner = zip_bytes({"inner.pdf": PDF})
    status = build_status(document_id="000.00.01.H04,2026/03/02,12/SNV-VP", reporter="000.00.02.H04", code="03")
    write_zip(tmp_path / "b.zip", {"docs/cv.edxml": document(), "status.edxml": status, "more.zip": inner})
    items = _items(tmp_path / "b.zip")
    assert len(_of(items, DocumentRecord)) == 1 and len(_of(items, StatusEvent)) == 1
    assert [p.name for p in _of(items, SignedPayload)] == ["more.zip/inner.pdf"]


def test_zips_nested_too_deep_are_refused(tmp_path: Path) -> None:
    deepest = zip_bytes({"deep.pdf": PDF})
    write_zip(tmp_path / "b.zip", {"l2.zip": zip_bytes({"l3.zip": deepest, "ok.pdf": PDF})})
    items = _items(tmp_path / "b.zip", limits=Limits(max_zip_depth=2))
    assert [p.name for p in _of(items, SignedPayload)] == ["l2.zip/ok.pdf"]
    assert "nested more than 2 deep" in _rejections(items)["l2.zip/l3.zip"]


@pytest.mark.parametrize(
    "name", ["../../evil.pdf", "/etc/evil.pdf", "C:/evil.pdf", "..\\..\\evil.pdf", "docs/../../evil.pdf"]
)
def test_zip_slip_names_are_refused_and_nothing_is_written(tmp_path: Path, name: str) -> None:
    batch = write_zip(tmp_path / "slip.zip", {name: PDF, "good.pdf": PDF})
    items = _items(batch)
    assert "zip slip" in _rejections(items)[name]
    assert [p.name for p in _of(items, SignedPayload)] == ["good.pdf"]
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["slip.zip"]


def test_control_characters_in_names_are_refused(tmp_path: Path) -> None:
    items = _items(write_zip(tmp_path / "b.zip", {"a\x07b.pdf": PDF, "good.pdf": PDF}))
    assert "control characters" in _rejections(items)["a\x07b.pdf"]


def test_symlink_member_is_refused(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("link.pdf")
    link.external_attr = 0o120777 << 16
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as archive:
        archive.writestr(link, "/etc/passwd")
        archive.writestr("good.pdf", PDF)
    items = _items(tmp_path / "b.zip")
    assert "symbolic link" in _rejections(items)["link.pdf"]


def test_encrypted_member_is_refused(tmp_path: Path) -> None:
    data = _patch_central(zip_bytes({"secret.pdf": PDF, "good.pdf": PDF}), 8, "<H", 0x1)
    (tmp_path / "b.zip").write_bytes(data)
    items = _items(tmp_path / "b.zip")
    assert "password-protected" in _rejections(items)["secret.pdf"]
    assert [p.name for p in _of(items, SignedPayload)] == ["good.pdf"]


def test_compression_bomb_member_is_refused(tmp_path: Path) -> None:
    batch = write_zip(tmp_path / "bomb.zip", {"zeros.pdf": b"%PDF-" + b"\0" * 300_000, "good.pdf": PDF})
    items = _items(batch, limits=Limits(ratio_checked_above_bytes=1024))
    assert "zip bomb" in _rejections(items)["zeros.pdf"]
    assert [p.name for p in _of(items, SignedPayload)] == ["good.pdf"]


def test_declared_total_over_limit_refuses_the_whole_zip(tmp_path: Path) -> None:
    batch = write_zip(tmp_path / "b.zip", {"a.pdf": PDF * 50, "b.pdf": PDF * 50})
    items = _items(batch, limits=Limits(max_total_uncompressed_bytes=4000))
    assert len(items) == 1 and "declares" in _rejections(items)["the batch zip"]


def test_actual_bytes_are_counted_across_nested_zips(tmp_path: Path) -> None:
    inner = zip_bytes({"a.pdf": PDF + b"\0" * 3000})
    batch = write_zip(tmp_path / "b.zip", {"one.zip": inner, "two.zip": inner, "three.zip": inner})
    items = _items(batch, limits=Limits(max_total_uncompressed_bytes=7000))
    assert "reading stopped" in _rejections(items)["b.zip"]
    assert len(_of(items, SignedPayload)) < 3


def test_oversized_member_is_refused(tmp_path: Path) -> None:
    items = _items(
        write_zip(tmp_path / "b.zip", {"big.pdf": PDF * 100, "ok.pdf": PDF}), limits=Limits(max_member_bytes=1000)
    )
    assert "limit for one file" in _rejections(items)["big.pdf"]


def test_header_understating_the_size_is_caught(tmp_path: Path) -> None:
    # Central directory uncompressed size (offset 24) says 10 bytes; the data is longer.
    data = _patch_central(zip_bytes({"liar.pdf": PDF * 20, "good.pdf": PDF}), 24, "<I", 10)
    (tmp_path / "b.zip").write_bytes(data)
    items = _items(tmp_path / "b.zip")
    assert "liar.pdf" in _rejections(items)
    assert [p.name for p in _of(items, SignedPayload)] == ["good.pdf"]


def test_header_overstating_the_size_is_caught(tmp_path: Path) -> None:
    data = _patch_central(zip_bytes({"liar.pdf": PDF, "good.pdf": PDF}, zipfile.ZIP_STORED), 24, "<I", 10 << 20)
    (tmp_path / "b.zip").write_bytes(data)
    items = _items(tmp_path / "b.zip", limits=Limits(max_member_bytes=1 << 20))
    assert "liar.pdf" in _rejections(items)


def test_too_many_members(tmp_path: Path) -> None:
    batch = write_zip(tmp_path / "b.zip", {f"{n}.pdf": PDF for n in range(5)})
    items = _items(batch, limits=Limits(max_members=3))
    assert "holds 5 files" in _rejections(items)["the batch zip"]


def test_symlinks_in_folders_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "doc.pdf").write_bytes(PDF)
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "real.pdf").write_bytes(PDF)
    (batch / "link.pdf").symlink_to(outside / "doc.pdf")
    (batch / "linkdir").symlink_to(outside)
    items = _items(batch)
    assert set(_rejections(items)) == {"link.pdf", "linkdir"}
    assert [p.name for p in _of(items, SignedPayload)] == ["real.pdf"]


def test_unknown_and_fake_files_inside_a_batch(tmp_path: Path) -> None:
    write_zip(tmp_path / "b.zip", {"notes.docx": b"PK\x03\x04 x", "fake.pdf": b"<html>", "cv.edxml": document()})
    reasons = _rejections(_items(tmp_path / "b.zip"))
    assert "does not read this kind of file" in reasons["notes.docx"]
    assert "not a PDF" in reasons["fake.pdf"]


def test_single_files_are_batches_too(tmp_path: Path) -> None:
    (tmp_path / "cv.edxml").write_bytes(document())
    (tmp_path / "a.pdf").write_bytes(PDF)
    assert len(_of(_items(tmp_path / "cv.edxml"), DocumentRecord)) == 1
    assert [p.name for p in _of(_items(tmp_path / "a.pdf"), SignedPayload)] == ["a.pdf"]


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda root: (root / "x.zip").write_bytes(b"not a zip") and root / "x.zip", "not a readable zip"),
        (lambda root: (root / "empty").mkdir() or root / "empty", "empty"),
        (lambda root: (root / "e.edxml").write_bytes(b"") or root / "e.edxml", "empty"),
        (
            lambda root: (root / "notes.docx").write_bytes(b"PK\x03\x04") and root / "notes.docx",
            "no file docflow reads",
        ),
        (lambda root: write_zip(root / "z.zip", {}), "empty"),
    ],
)
def test_unreadable_batches_raise_batch_unreadable(tmp_path: Path, make: object, fragment: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(BatchUnreadable, match=fragment):
        _items(path)


def test_batch_over_the_size_limit_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(PDF)
    with pytest.raises(BatchUnreadable, match="split it"):
        _items(tmp_path / "a.pdf", limits=Limits(max_batch_bytes=10))


def test_columns_mapping_reaches_the_register_reader(tmp_path: Path) -> None:
    register = b"unit_code,direction,So VB,notation,date,channel\n000.00.01.H04,out,8,A,2026-03-02,paper\n"
    (tmp_path / "so.csv").write_bytes(register)
    [record] = _items(tmp_path / "so.csv", columns={"number": "So VB"})
    assert isinstance(record, DocumentRecord) and record.number == "8"
