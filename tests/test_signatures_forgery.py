"""Encapsulated content never stands in for the bytes that were given: the forged-PDF and fake-.p7s holes.

A CMS that carries its own copy of a document (an attached .p7m) is a valid signature over that copy.
Dropped into a PDF's /Contents, or named as another file's detached signature, it must not make the
PDF's byte range or the other file look signed.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.ingest import SENDER, counters_of, table, write_edxml

from docflow.cli import main
from docflow.ingest.run import ingest_batch
from docflow.store.core import Store
from samples.pdfgen import make_pdf, sign_pdf
from samples.pki import Issued
from samples.sign import sign_cms
from signatures import SubIndication, TrustStore, verify_cms, verify_file, verify_pdf
from signatures.verdict import Indication

_CONTENTS = re.compile(rb"/Contents <([0-9a-fA-F]+)>")


def _with_contents(pdf: bytes, der_by_position: dict[int, bytes]) -> bytes:
    """Replace the n-th /Contents hex string with ``der`` padded to the same length, as a forger would."""
    pieces, last = [], 0
    for position, match in enumerate(_CONTENTS.finditer(pdf)):
        if position not in der_by_position:
            continue
        hex_der = der_by_position[position].hex().encode()
        start, end = match.span(1)
        pieces += [pdf[last:start], hex_der.ljust(end - start, b"0")]
        last = end
    return b"".join(pieces) + pdf[last:]


def _forged_pdf(person: Issued, organisation: Issued, signing_time: datetime) -> bytes:
    """A signed ND 30 PDF, tampered, whose two signatures are replaced by attached CMS over other content."""
    pdf = make_pdf("Quyết định", ["Nội dung gốc"])
    signed = sign_pdf(sign_pdf(pdf, person, signing_time=signing_time), organisation, signing_time=signing_time)
    tampered = signed.replace(b"Noi dung goc", b"Noi dung SUA", 1)
    attached = {
        0: sign_cms(b"any text at all", person, detached=False, signing_time=signing_time),
        1: sign_cms(b"any text at all", organisation, detached=False, signing_time=signing_time),
    }
    return _with_contents(tampered, attached)


def test_attached_cms_in_a_tampered_pdf_is_refused(
    person: Issued, organisation: Issued, signing_time: datetime, trust: TrustStore
) -> None:
    verdicts = verify_pdf(_forged_pdf(person, organisation, signing_time), trust=trust)
    assert len(verdicts) == 2
    assert [v.subindication for v in verdicts] == [SubIndication.FORMAT_FAILURE] * 2
    assert all("own copy" in v.reason for v in verdicts), [v.reason for v in verdicts]


@pytest.mark.parametrize("subfilter", ["adbe.pkcs7.detached", "ETSI.CAdES.detached"])
def test_detached_subfilter_with_encapsulated_content_is_format_failure(
    subfilter: str, organisation: Issued, signing_time: datetime, trust: TrustStore
) -> None:
    signed = sign_pdf(make_pdf("Công văn", ["x"]), organisation, signing_time=signing_time, subfilter=subfilter)
    forged = _with_contents(signed, {0: sign_cms(b"other", organisation, detached=False, signing_time=signing_time)})
    verdict = verify_pdf(forged, trust=trust)[0]
    assert (verdict.indication, verdict.subindication) == (Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE)


def _sha1_pdf_with_contents(signer: Issued, signing_time: datetime, contents: bytes) -> bytes:
    """An adbe.pkcs7.sha1 PDF signature whose /Contents is replaced by ``contents``."""
    signed = sign_pdf(make_pdf("Công văn", ["x"]), signer, signing_time=signing_time, subfilter="adbe.pkcs7.sha1")
    return _with_contents(signed, {0: contents})


def _over_zeros(signer: Issued, signing_time: datetime) -> bytes:
    """A valid attached CMS carrying a SHA-1 that is not the byte range's."""
    return sign_cms(b"\x00" * 20, signer, detached=False, signing_time=signing_time)


def test_sha1_subfilter_content_must_be_the_digest_of_the_byte_range(
    organisation: Issued, signing_time: datetime, trust: TrustStore
) -> None:
    forged = _sha1_pdf_with_contents(organisation, signing_time, _over_zeros(organisation, signing_time))
    verdict = verify_pdf(forged, trust=trust)[0]
    assert verdict.subindication is SubIndication.HASH_FAILURE


def test_sha1_subfilter_with_unreadable_contents_is_format_failure_not_a_changed_pdf(
    organisation: Issued, signing_time: datetime, trust: TrustStore
) -> None:
    verdict = verify_pdf(_sha1_pdf_with_contents(organisation, signing_time, b"\x30\x03not a CMS"), trust=trust)[0]
    assert (verdict.indication, verdict.subindication) == (Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE)
    assert "changed after it was signed" not in verdict.reason


def test_sha1_subfilter_mismatch_names_the_other_failed_checks(
    untrusted_person: Issued, signing_time: datetime, trust: TrustStore
) -> None:
    forged = _sha1_pdf_with_contents(untrusted_person, signing_time, _over_zeros(untrusted_person, signing_time))
    verdict = verify_pdf(forged, trust=trust)[0]
    assert verdict.subindication is SubIndication.HASH_FAILURE
    assert "SHA-1 no longer matches" in verdict.reason
    assert "Other checks also failed: certificate path" in verdict.reason, verdict.reason


def test_forged_pdf_fails_docflow_verify(
    tmp_path: Path, person: Issued, organisation: Issued, signing_time: datetime, trust_dir: Path
) -> None:
    path = tmp_path / "forged.pdf"
    path.write_bytes(_forged_pdf(person, organisation, signing_time))
    result = CliRunner().invoke(main, ["verify", str(path), "--trust", str(trust_dir), "--json"])
    rows = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert result.exit_code == 1
    assert [row["indication"] for row in rows] == ["TOTAL_FAILED", "TOTAL_FAILED"]


def test_forged_pdf_raises_no_signature_counter(
    tmp_path: Path, person: Issued, organisation: Issued, signing_time: datetime, trust: TrustStore
) -> None:
    from cryptography.x509.oid import NameOID

    sender_name = str(organisation.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
    batch = tmp_path / "b1"
    write_edxml(
        batch / "qd.edxml",
        sender_name=sender_name,
        attachment=("qd.pdf", _forged_pdf(person, organisation, signing_time)),
    )
    store = Store.open(tmp_path / "docflow.db")
    try:
        assert ingest_batch(batch, store, trust).outcome == "ingested"
        assert table(store, "SELECT indication FROM signatures ORDER BY idx") == [("TOTAL_FAILED",), ("TOTAL_FAILED",)]
        counts = counters_of(store, SENDER)
        assert counts["outgoing"] == 1
        for counter in ("outgoing_signed_valid", "outgoing_nd30", "outgoing_issued_electronic"):
            assert counter not in counts, counts
    finally:
        store.close()


def test_fake_p7s_that_is_an_attached_cms_over_other_content_is_refused(
    tmp_path: Path, person: Issued, signing_time: datetime, trust_dir: Path
) -> None:
    (tmp_path / "fake.docx").write_bytes(b"PK\x03\x04 the document the clerk was sent")
    (tmp_path / "fake.docx.p7s").write_bytes(
        sign_cms(b"something else entirely", person, detached=False, signing_time=signing_time)
    )
    verdicts = verify_file(tmp_path / "fake.docx.p7s", trust=trust_dir)
    assert verdicts and not any(v.passed for v in verdicts)
    assert "differs" in verdicts[0].reason
    result = CliRunner().invoke(main, ["verify", str(tmp_path / "fake.docx.p7s"), "--trust", str(trust_dir)])
    assert result.exit_code == 1


def test_attached_p7m_with_a_different_content_file_is_refused(
    tmp_path: Path, person: Issued, signing_time: datetime, trust_dir: Path
) -> None:
    (tmp_path / "cv.p7m").write_bytes(sign_cms(b"the signed text", person, detached=False, signing_time=signing_time))
    (tmp_path / "cv.txt").write_bytes(b"another text")
    result = CliRunner().invoke(
        main,
        [
            "verify",
            str(tmp_path / "cv.p7m"),
            "--content",
            str(tmp_path / "cv.txt"),
            "--trust",
            str(trust_dir),
            "--json",
        ],
    )
    assert result.exit_code == 1
    assert json.loads(result.output.splitlines()[-1])["subindication"] == "FORMAT_FAILURE"


def test_attached_p7m_with_its_own_content_file_passes(
    tmp_path: Path, person: Issued, signing_time: datetime, trust: TrustStore
) -> None:
    signature = sign_cms(b"the signed text", person, detached=False, signing_time=signing_time)
    assert [v.passed for v in verify_cms(signature, b"the signed text", trust=trust)] == [True]
    assert [v.passed for v in verify_cms(signature, trust=trust)] == [True]
