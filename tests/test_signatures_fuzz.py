"""Property: mutated, truncated or extended signature bytes never raise, they become verdicts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samples.pdfgen import make_pdf, sign_pdf
from samples.pki import Issued
from samples.sign import sign_cms
from signatures import TrustStore, Verdict, verify_cms, verify_pdf

CONTENT = b"Van ban dien tu"


@pytest.fixture(scope="module")
def signed(person: Issued, signing_time: datetime, trust_dir: Path) -> tuple[bytes, bytes, TrustStore]:
    der = sign_cms(CONTENT, person, signing_time=signing_time)
    pdf = sign_pdf(make_pdf("Fuzz"), person, signing_time=signing_time)
    return der, pdf, TrustStore.load(trust_dir)


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None, extra: bytes) -> bytes:
    changed = bytearray(data)
    for position, value in edits:
        changed[position % len(changed)] = value
    if cut is not None:
        changed = changed[: cut % (len(changed) + 1)]
    return bytes(changed) + extra


mutations = dict(
    edits=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=8),
    cut=st.none() | st.integers(min_value=0),
    extra=st.binary(max_size=16),
)


def _well_formed(verdicts: list[Verdict]) -> bool:
    return all(isinstance(v, Verdict) and v.reason and (v.subindication is None) == v.passed for v in verdicts)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**mutations)
def test_mutated_cms_never_raises(
    signed: tuple[bytes, bytes, TrustStore], edits: list[tuple[int, int]], cut: int | None, extra: bytes
) -> None:
    der, _, trust = signed
    verdicts = verify_cms(_mutate(der, edits, cut, extra), CONTENT, trust=trust)
    assert verdicts and _well_formed(verdicts)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**mutations)
def test_mutated_pdf_never_raises(
    signed: tuple[bytes, bytes, TrustStore], edits: list[tuple[int, int]], cut: int | None, extra: bytes
) -> None:
    _, pdf, trust = signed
    assert _well_formed(verify_pdf(_mutate(pdf, edits, cut, extra), trust=trust))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes_never_raise(data: bytes) -> None:
    verdicts = verify_cms(data, b"", trust=None) + verify_pdf(b"%PDF-1.7\n" + data, trust=None)
    assert _well_formed(verdicts)
