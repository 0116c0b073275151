"""Fuzzing every parser that touches untrusted bytes: no uncaught exception, no hang.

Each target is fed mutations of real seeds (``../shared/vectors`` where present, and
files docflow's own sample generators write) by hypothesis. Every input is bounded in
size and watched by an alarm, so a hang fails the test instead of stalling CI.

Sizes: ``DOCFLOW_FUZZ_EXAMPLES`` inputs per target (150 by default, 5 000 with
``DOCFLOW_FULL=1``). Crashers found by long runs are kept as regression files in
``tests/hostile/<target>/`` and replayed by ``test_regression_files``.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers.fuzz import FUZZ, apply_edits, cms_seeds, edxml_seeds, mutated, pdf_seeds, register_seeds, zip_seeds
from helpers.hostile import time_limit
from hypothesis import given
from hypothesis import strategies as st

from docflow.readers.archive import BatchUnreadable
from docflow.readers.batch import read_batch
from docflow.readers.edxml import read_edxml
from docflow.readers.limits import Limits
from docflow.readers.register import read_register
from docflow.records import DocumentRecord, RejectedItem, SignedPayload, StatusEvent
from signatures import TrustStore, verify_cms, verify_pdf

REGRESSIONS = Path(__file__).resolve().parent / "hostile"
SECONDS_PER_INPUT = 20
SMALL_LIMITS = Limits(
    max_batch_bytes=4 << 20,
    max_member_bytes=2 << 20,
    max_total_uncompressed_bytes=8 << 20,
    max_members=200,
    max_xml_bytes=2 << 20,
)
_NO_TRUST = TrustStore.from_objects([])
_ITEM_TYPES = (DocumentRecord, RejectedItem, SignedPayload, StatusEvent)


# -- checks, one per parser -----------------------------------------------------------------


def check_cms(data: bytes) -> None:
    with time_limit(SECONDS_PER_INPUT):
        verdicts = verify_cms(data, b"van ban", trust=_NO_TRUST)
    assert verdicts, "every CMS, however broken, gets at least one verdict saying what is wrong"
    assert all(verdict.reason for verdict in verdicts)


def check_pdf(data: bytes) -> None:
    with time_limit(SECONDS_PER_INPUT):
        verdicts = verify_pdf(data, trust=_NO_TRUST)
    assert all(verdict.reason for verdict in verdicts)


def check_edxml(data: bytes) -> None:
    with time_limit(SECONDS_PER_INPUT):
        items = read_edxml("fuzz.edxml", data, SMALL_LIMITS)
    assert items and all(isinstance(item, _ITEM_TYPES) for item in items)


def check_register(data: bytes, name: str = "fuzz.csv") -> None:
    with time_limit(SECONDS_PER_INPUT):
        items = read_register(name, data, None, SMALL_LIMITS)
    assert all(isinstance(item, _ITEM_TYPES) for item in items)


def check_zip(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.zip"
        path.write_bytes(data)
        with time_limit(SECONDS_PER_INPUT):
            try:
                items = list(read_batch(path, SMALL_LIMITS))
            except BatchUnreadable as unreadable:
                assert unreadable.reason
                return
        assert all(isinstance(item, _ITEM_TYPES) for item in items)
        assert sorted(p.name for p in Path(folder).iterdir()) == ["fuzz.zip"], "nothing is extracted to disk"


KNOWN_BUGS: dict[str, pytest.MarkDecorator] = {}
"""Regression file name → the xfail marking its still-open bug (remove once fixed)."""
KNOWN_CRASHES: tuple[tuple[type[Exception], str], ...] = ()
"""Open bugs (none now), tolerated by the fuzz runs only: they stay visible (xfail) through the regression
files, while the fuzzer keeps looking for new ones. Remove an entry when its bug is fixed."""


@contextmanager
def tolerating_known_crashes() -> Iterator[None]:
    try:
        yield
    except Exception as error:
        if not any(isinstance(error, kind) and fragment in str(error) for kind, fragment in KNOWN_CRASHES):
            raise


# -- the fuzz runs --------------------------------------------------------------------------


@FUZZ
@given(mutated(cms_seeds))
def test_fuzz_cms(data: bytes) -> None:
    with tolerating_known_crashes():
        check_cms(data)


@FUZZ
@given(mutated(pdf_seeds))
def test_fuzz_pdf_signature_extraction(data: bytes) -> None:
    with tolerating_known_crashes():
        check_pdf(data)


@FUZZ
@given(mutated(edxml_seeds))
def test_fuzz_edxml(data: bytes) -> None:
    with tolerating_known_crashes():
        check_edxml(data)


@FUZZ
@given(mutated(register_seeds), st.sampled_from(["fuzz.csv", "fuzz.jsonl"]))
def test_fuzz_register_csv_and_jsonl(data: bytes, name: str) -> None:
    with tolerating_known_crashes():
        check_register(data, name)


@FUZZ
@given(mutated(zip_seeds))
def test_fuzz_zip_batches(data: bytes) -> None:
    with tolerating_known_crashes():
        check_zip(data)


@FUZZ
@given(st.text(max_size=300), st.sampled_from(["fuzz.csv", "fuzz.jsonl"]))
def test_fuzz_register_text(text: str, name: str) -> None:
    with tolerating_known_crashes():
        header = "ma_don_vi,huong,so,ky_hieu,ngay,kenh\n"
        check_register((header + text).encode("utf-8", "surrogatepass"), name)


# -- regressions ----------------------------------------------------------------------------

_CHECKS: dict[str, Callable[[bytes], None]] = {
    "cms": check_cms,
    "pdf": check_pdf,
    "edxml": check_edxml,
    "register": check_register,
    "zip": check_zip,
}


def _regression_files() -> list[object]:
    if not REGRESSIONS.exists():
        return []
    return [
        pytest.param(
            target, path, id=f"{target}/{path.name}", marks=[KNOWN_BUGS[path.name]] if path.name in KNOWN_BUGS else []
        )
        for target in _CHECKS
        for path in sorted((REGRESSIONS / target).glob("*"))
        if path.is_file() and not path.name.startswith(".")
    ]


@pytest.mark.parametrize(
    ("target", "path"),
    _regression_files()
    or [pytest.param("", Path(), marks=pytest.mark.skip(reason="no regression files in tests/hostile/ yet"))],
)
def test_regression_files(target: str, path: Path) -> None:
    _CHECKS[target](path.read_bytes())


def test_the_mutator_changes_its_seed() -> None:
    seed = b"0123456789" * 10
    assert apply_edits(seed, [(0.5, "flip", b"\x01")], None) != seed
    assert len(apply_edits(seed, [], 0.5)) == 50
    assert apply_edits(seed, [], None) == seed
    assert isinstance(io.BytesIO(apply_edits(seed, [(0.1, "repeat", b"x")], None)).read(), bytes)
