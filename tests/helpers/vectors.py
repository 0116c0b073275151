"""Where the public test vectors sit: ../shared/vectors beside the repository (CI only)."""

from __future__ import annotations

from pathlib import Path

import pytest

__all__ = ["VECTORS", "vectors_or_skip"]

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"


def vectors_or_skip(*parts: str) -> Path:
    """A path under ../shared/vectors, skipping the test where that suite is absent."""
    path = VECTORS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"public test vectors not found at {path} (they sit beside the repo in CI only)")
    return path
