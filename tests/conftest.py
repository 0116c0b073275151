"""Session-wide fixtures: one sample PKI per test run, keys generated in memory only."""

from __future__ import annotations

from pathlib import Path

import pytest

from samples.pki import Issued, SamplePKI, build_pki, issue_organisation, issue_person, write_trust_dir

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors"


def vectors_or_skip(*parts: str) -> Path:
    """A path under ../shared/vectors, skipping the test where that suite is absent."""
    path = VECTORS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"public test vectors not found at {path} (they sit beside the repo in CI only)")
    return path


@pytest.fixture(scope="session")
def pki() -> SamplePKI:
    return build_pki()


@pytest.fixture(scope="session")
def person(pki: SamplePKI) -> Issued:
    return issue_person(pki, "Nguyễn Văn An", agency="Sở Tài chính tỉnh Bắc Kạn", department="Văn phòng Sở")


@pytest.fixture(scope="session")
def organisation(pki: SamplePKI) -> Issued:
    return issue_organisation(pki, "Sở Tài chính tỉnh Bắc Kạn")


@pytest.fixture(scope="session")
def trust_dir(pki: SamplePKI, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_trust_dir(pki, tmp_path_factory.mktemp("trust"))
