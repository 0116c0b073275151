"""Session-wide fixtures: one sample PKI per test run, keys generated in memory only.

``trust_dir`` is written after ``revoked_person`` is revoked, so its CRL lists that
serial; tests needing other revocations build their own ``build_pki()`` (pooled
keys make that cheap) rather than mutating the shared one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

# The tests read docflow in its default language, whatever the developer's shell asks for.
os.environ.pop("DOCFLOW_LANG", None)

# Before any test imports them: a failed assert in a helper shows its values, as in a test.
pytest.register_assert_rewrite("helpers")

from docflow.i18n import language_from_environment, set_language  # noqa: E402
from docflow.store.core import Store  # noqa: E402
from samples.pki import (  # noqa: E402
    Issued,
    SamplePKI,
    build_pki,
    issue_organisation,
    issue_person,
    revoke,
    write_trust_dir,
)
from signatures import TrustStore  # noqa: E402

AGENCY = "Sở Tài chính tỉnh Bắc Kạn"


@pytest.fixture(autouse=True)
def _language_of_the_environment() -> None:
    """Each test starts in the language a fresh run would speak (Vietnamese unless DOCFLOW_LANG says otherwise):
    a command run with --lang en keeps English for the rest of its process, as a real run would."""
    set_language(language_from_environment())


@pytest.fixture(scope="session")
def pki() -> SamplePKI:
    return build_pki()


@pytest.fixture(scope="session")
def person(pki: SamplePKI) -> Issued:
    return issue_person(pki, "Nguyễn Văn An", agency=AGENCY, department="Văn phòng Sở")


@pytest.fixture(scope="session")
def organisation(pki: SamplePKI) -> Issued:
    return issue_organisation(pki, AGENCY)


@pytest.fixture(scope="session")
def revoked_person(pki: SamplePKI) -> Issued:
    """Revoked 30 days before ``pki.now``; listed in ``trust_dir``'s CRL."""
    issued = issue_person(pki, "Lê Thị Thu", agency=AGENCY)
    revoke(pki, issued, pki.now - timedelta(days=30))
    return issued


@pytest.fixture(scope="session")
def expired_person(pki: SamplePKI) -> Issued:
    """Valid for three years, ending a year before ``pki.now``."""
    return issue_person(
        pki,
        "Phạm Văn Cường",
        agency=AGENCY,
        not_before=pki.now - timedelta(days=4 * 365),
        not_after=pki.now - timedelta(days=365),
    )


@pytest.fixture(scope="session")
def untrusted_person(pki: SamplePKI) -> Issued:
    """Issued by the untrusted twin intermediate, whose root is not in ``trust_dir``."""
    return issue_person(pki, "Hoàng Văn Dũng", agency="Công ty ABC", issuer=pki.untrusted_intermediate)


@pytest.fixture(scope="session")
def trust_dir(pki: SamplePKI, revoked_person: Issued, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_trust_dir(pki, tmp_path_factory.mktemp("trust"))


@pytest.fixture(scope="session")
def signing_time(pki: SamplePKI) -> datetime:
    """Inside every good certificate's validity, after ``revoked_person``'s revocation."""
    return pki.now - timedelta(days=2)


@pytest.fixture(scope="session")
def trust(trust_dir: Path) -> TrustStore:
    return TrustStore.load(trust_dir)


@pytest.fixture(scope="session")
def signing() -> object:
    """The sample PDF signer module, where it is installed."""
    return pytest.importorskip("samples.pdfgen", reason="the sample PDF signer (samples.pdfgen) is not available")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An empty store in the test's own folder, closed afterwards."""
    with Store.open(tmp_path / "docflow.db") as opened:
        yield opened


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory without docflow.toml or a ``trust`` folder, and a wide terminal without colour."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    """A PostgreSQL server for the run (``tests/helpers/postgres.py``); the tests skip with the reason where none can
    be had, unless DOCFLOW_REQUIRE_POSTGRES is set (``.ci/run`` sets it: CI must run them)."""
    from helpers.postgres import PostgresUnavailable, throwaway_server

    try:
        with throwaway_server() as server:
            yield server
    except PostgresUnavailable as why:
        if os.environ.get("DOCFLOW_REQUIRE_POSTGRES"):
            pytest.fail(f"no PostgreSQL server, and DOCFLOW_REQUIRE_POSTGRES is set: {why}")
        pytest.skip(f"no PostgreSQL server: {why}")
