"""The fast CMS walk (signatures.cmsparts) reads exactly what asn1crypto reads, or steps aside.

Every verdict depends on these parts, so each shape the walk accepts is compared with
asn1crypto's full parse of the same bytes, and each shape it refuses must still verify
through the fallback.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import cms, core

from samples.pki import Issued, SamplePKI
from samples.sign import sign_cms, to_ber_indefinite
from signatures import SubIndication, TrustStore, verify_cms
from signatures.cms import CmsFormatError, embedded_certificates, encapsulated_content, load_signed_data, read_signed
from signatures.cmsparts import (
    Unusual,
    _attributes_by_asn1crypto,
    _der_time,
    _signer_parts_by_asn1crypto,
    _walk_attributes,
    _walk_signer_info,
    read_signed_parts,
    read_signer_parts,
)

CONTENT = "Công văn số 45/STP-VP về việc triển khai chữ ký số".encode() * 40

VARIANTS = [
    {},
    {"scheme": "pss"},
    {"signed_attrs": False},
    {"sid": "ski"},
    {"digest": "sha512"},
    {"signing_certificate_v2": True},
    {"content_type_attr": "signed_data"},
    {"wrong_digest": True},
]


def _signed(person: Issued, signing_time: datetime, **options: object) -> bytes:
    return sign_cms(CONTENT, person, signing_time=signing_time, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("options", VARIANTS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_walk_reads_what_asn1crypto_reads(options: dict[str, object], person: Issued, signing_time: datetime) -> None:
    der = _signed(person, signing_time, **options)
    parts = read_signed_parts(der)
    signed_data = load_signed_data(der)
    assert (parts.content_type, parts.content) == encapsulated_content(signed_data)
    assert parts.certificates == embedded_certificates(signed_data)
    assert parts.signer_infos == tuple(info.dump() for info in signed_data["signer_infos"])
    for info in parts.signer_infos:
        walked = _walk_signer_info(info)
        assert walked == _signer_parts_by_asn1crypto(info)
        if walked.signed_attrs is not None:
            assert _walk_attributes(walked.signed_attrs) == _attributes_by_asn1crypto(walked.signed_attrs)


def test_timestamped_signer_keeps_its_unsigned_attributes(
    pki: SamplePKI, person: Issued, signing_time: datetime
) -> None:
    der = _signed(person, signing_time, timestamp_by=pki.tsa)
    info = read_signed_parts(der).signer_infos[0]
    unsigned = _walk_signer_info(info).unsigned_attrs
    assert unsigned is not None and unsigned == _signer_parts_by_asn1crypto(info).unsigned_attrs


@pytest.mark.parametrize("options", [{"detached": False}, {}], ids=["attached", "ber-indefinite"])
def test_unusual_shapes_fall_back_to_asn1crypto_and_still_verify(
    options: dict[str, object], person: Issued, trust_dir: Path, signing_time: datetime
) -> None:
    der = _signed(person, signing_time, **options)
    if not options:
        der = to_ber_indefinite(der)
    with pytest.raises(Unusual):
        read_signed_parts(der)
    parts = read_signed(der)
    assert parts.content_type == "data" and len(parts.signer_infos) == 1
    verdict = verify_cms(der, None if options else CONTENT, trust=TrustStore.load(trust_dir))[0]
    assert verdict.passed, verdict.reason


def test_ber_signer_info_is_read_by_the_fallback(person: Issued, signing_time: datetime) -> None:
    info = to_ber_indefinite(read_signed_parts(_signed(person, signing_time)).signer_infos[0], depth=1)
    with pytest.raises(Unusual):
        _walk_signer_info(info)
    assert read_signer_parts(info) == _signer_parts_by_asn1crypto(info)


@pytest.mark.parametrize("data", [b"", b"\x30", b"\x30\x84\xff\xff\xff\xff", b"\x30\x03\x06\x01", b"\x1f\x81\x00"])
def test_truncated_or_odd_headers_are_refused_not_crashed(data: bytes) -> None:
    with pytest.raises(Unusual):
        read_signed_parts(data)
    with pytest.raises((CmsFormatError, ValueError)):
        read_signed(data)


@pytest.mark.parametrize(
    "value",
    [
        core.UTCTime(datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)),
        core.UTCTime(datetime(1950, 1, 1, tzinfo=UTC)),
        core.GeneralizedTime(datetime(2026, 2, 28, 7, 5, 9, tzinfo=UTC)),
    ],
    ids=["utc-2049", "utc-1950", "generalized"],
)
def test_der_time_matches_asn1crypto(value: core.Asn1Value) -> None:
    assert _der_time(value.dump()[0], value.contents) == cms.Time.load(value.dump()).native


@pytest.mark.parametrize("text", [b"260230120000Z", b"2602281200Z", b"20260228120000.5Z", b"260228120000+0700"])
def test_der_time_leaves_other_forms_to_asn1crypto(text: bytes) -> None:
    assert _der_time(0x17 if len(text) < 15 else 0x18, text) is None


def test_signer_certificate_from_the_store_when_not_embedded(
    person: Issued, trust_dir: Path, signing_time: datetime
) -> None:
    # The cached signer lookup must not reuse the embedded set's answer for a signature without it.
    trust = TrustStore.load(trust_dir)
    embedded = verify_cms(_signed(person, signing_time), CONTENT, trust=trust)[0]
    bare = verify_cms(_signed(person, signing_time, embed_signer_cert=False), CONTENT, trust=trust)[0]
    assert embedded.passed, embedded.reason
    assert not bare.passed and bare.signer_cert_sha256 is None


def _verify_in_worker(job: tuple[bytes, bytes, str]) -> bool:
    der, content, trust_dir = job
    return verify_cms(der, content, trust=Path(trust_dir))[0].passed


def test_engine_works_in_a_process_pool(person: Issued, trust_dir: Path, signing_time: datetime) -> None:
    good = _signed(person, signing_time)
    jobs = [(good, CONTENT, str(trust_dir)), (good, CONTENT + b"!", str(trust_dir))] * 2
    with ProcessPoolExecutor(2) as pool:
        assert list(pool.map(_verify_in_worker, jobs)) == [True, False, True, False]


def test_bad_certificate_choice_is_malformed_as_before(person: Issued, trust_dir: Path, signing_time: datetime) -> None:
    der = _signed(person, signing_time)
    certificate = read_signed_parts(der).certificates[0]
    at = der.index(certificate)
    broken = der[:at] + b"\x06" + der[at + 1 :]  # the certificate's SEQUENCE tag becomes an OID's
    with pytest.raises(Unusual):
        read_signed_parts(broken)
    verdict = verify_cms(broken, CONTENT, trust=TrustStore.load(trust_dir))[0]
    assert verdict.subindication is SubIndication.FORMAT_FAILURE


@pytest.mark.parametrize("repeat", ["content_type", "message_digest", "signing_time"])
def test_both_readers_report_a_repeated_single_valued_attribute(repeat: str) -> None:
    attributes = [
        {"type": "content_type", "values": ["data"]},
        {
            "type": "signing_time",
            "values": [cms.Time(name="utc_time", value=datetime(2026, 1, 2, tzinfo=UTC))],
        },
        {"type": "message_digest", "values": [b"\x01" * 32]},
    ]
    attributes += [attribute for attribute in attributes if attribute["type"] == repeat]
    encoded = b"\xa0" + cms.CMSAttributes(attributes).dump()[1:]
    expected = (repeat.replace("_", "-"),)
    assert _walk_attributes(encoded).repeated == expected
    assert _attributes_by_asn1crypto(encoded).repeated == expected
    single = b"\xa0" + cms.CMSAttributes(attributes[:3]).dump()[1:]
    assert _walk_attributes(single).repeated == _attributes_by_asn1crypto(single).repeated == ()
