"""Seeds and mutations for fuzzing the parsers (tests/test_fuzz.py, tests/test_edxml_parsers.py).

Seeds are files docflow's own sample generators write, plus ``../shared/vectors`` where present.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from functools import cache

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from helpers.edxml import zip_bytes
from helpers.ingest import edxml
from helpers.vectors import VECTORS
from samples.pdfgen import make_pdf, sign_pdf
from samples.pki import build_pki, issue_person
from samples.sign import sign_cms

__all__ = [
    "FUZZ",
    "MAX_INPUT",
    "apply_edits",
    "mutated",
    "cms_seeds",
    "pdf_seeds",
    "edxml_seeds",
    "register_seeds",
    "zip_seeds",
]

FULL = os.environ.get("DOCFLOW_FULL") == "1"
EXAMPLES = int(os.environ.get("DOCFLOW_FUZZ_EXAMPLES", "5000" if FULL else "150"))
MAX_INPUT = 256 * 1024
"""Bigger seeds are cut: the point is odd structure, not size (size limits have their own tests)."""

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not FULL,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# -- seeds ----------------------------------------------------------------------------------


def _vector_files(folder: str, suffixes: tuple[str, ...], limit: int = 25) -> list[bytes]:
    root = VECTORS / folder
    if not root.exists():
        return []
    files = sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in suffixes and p.stat().st_size <= MAX_INPUT
    )
    return [p.read_bytes() for p in files[:limit]]


@cache
def _signer() -> object:
    pki = build_pki(seed_name="fuzz")
    return issue_person(pki, "Trần Thị Mờ", agency="Sở Thử nghiệm")


@cache
def cms_seeds() -> tuple[bytes, ...]:
    signer = _signer()
    generated = [
        sign_cms(b"van ban", signer),
        sign_cms(b"van ban", signer, detached=False),  # type: ignore[arg-type]
        sign_cms(b"van ban", signer, encoding="ber-indefinite"),
    ]  # type: ignore[arg-type]
    found = _vector_files("cryptography_vectors/pkcs7", (".der", ".pem", ".p7b", ".p7s", ".p7m")) + _vector_files(
        "openssl", (".pem",)
    )
    return tuple(generated + found)


@cache
def pdf_seeds() -> tuple[bytes, ...]:
    signed = sign_pdf(make_pdf("QĐ", ["Điều 1."]), _signer())  # type: ignore[arg-type]
    return (make_pdf("trống"), signed, sign_pdf(signed, _signer()), *_vector_files("pyhanko", (".pdf",), 10))  # type: ignore[arg-type]


@cache
def edxml_seeds() -> tuple[bytes, ...]:
    attached = edxml(attachment=("a.pdf", make_pdf("x")))
    zipped = edxml(attachment=("a.zip", zip_bytes([("a.pdf", make_pdf("y"))])))
    return (edxml(), attached, zipped, *_vector_files("edxml", (".edxml",)))


@cache
def register_seeds() -> tuple[bytes, ...]:
    header = "ma_don_vi,huong,so,ky_hieu,ngay,kenh,trich_yeu,noi_nhan,tep\n"
    row = "000.00.01.H04,di,12,QĐ-UBND,2024-03-01,dien_tu,Về việc thử,000.00.02.H04,a.pdf\n"
    json_row = '{"ma_don_vi":"000.00.01.H04","huong":"di","so":"12","ky_hieu":"QĐ","ngay":"2024-03-01","kenh":"giay"}\n'
    return (
        (header + row * 3).encode(),
        (header + row).encode("utf-16"),
        (header.replace(",", ";") + row).encode(),
        (json_row * 3).encode(),
    )


@cache
def zip_seeds() -> tuple[bytes, ...]:
    return (
        zip_bytes([("a.edxml", edxml()), ("so.csv", register_seeds()[0])]),
        zip_bytes([("inner.zip", zip_bytes([("b.edxml", edxml(number="2"))]))]),
        zip_bytes([("a.pdf", pdf_seeds()[1])], zipfile.ZIP_STORED),
    )


def mutated(seeds: Callable[[], tuple[bytes, ...]]) -> st.SearchStrategy[bytes]:
    """A seed with bytes flipped, spliced in, duplicated or cut off; sometimes plain random bytes."""
    edits = st.lists(
        st.tuples(
            st.floats(0, 1), st.sampled_from(["flip", "insert", "delete", "repeat"]), st.binary(min_size=1, max_size=8)
        ),
        max_size=6,
    )
    seeded = st.builds(
        apply_edits,
        st.integers(0, 10_000).map(lambda n: seeds()[n % len(seeds())]),
        edits,
        st.one_of(st.none(), st.floats(0, 1)),
    )
    return st.one_of(seeded, st.binary(max_size=2048))


def apply_edits(seed: bytes, edits: list[tuple[float, str, bytes]], cut: float | None) -> bytes:
    data = bytearray(seed[:MAX_INPUT])
    for where, how, chunk in edits:
        at = int(where * len(data))
        if how == "flip" and data:
            data[min(at, len(data) - 1)] ^= chunk[0] or 1
        elif how == "insert":
            data[at:at] = chunk
        elif how == "delete":
            del data[at : at + len(chunk) * 16]
        else:
            data[at:at] = data[at : at + 64] * 4
    if cut is not None:
        del data[int(cut * len(data)) :]
    return bytes(data[:MAX_INPUT])
