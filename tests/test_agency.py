"""Agency codes: read right to left, parents by zeroing, malformed codes kept and flagged."""

from __future__ import annotations

import pytest

from docflow.agency import AgencyCode, normalise_code, parse_agency_code


@pytest.mark.parametrize(("text", "depth", "parent"), [
    ("000.00.00.H04", 1, None),
    ("000.00.21.H04", 2, "000.00.00.H04"),
    ("000.05.21.H04", 3, "000.00.21.H04"),
    ("007.05.21.H04", 4, "000.05.21.H04"),
    ("001.00.10.H47", 3, "000.00.10.H47"),
])
def test_valid_codes_have_depth_and_parent(text: str, depth: int, parent: str | None) -> None:
    code = parse_agency_code(text)
    assert code.valid and code.depth == depth and code.parent == parent and code.text == text


def test_level1_and_normalisation() -> None:
    code = parse_agency_code("  000.00.00.g22 ")
    assert code == AgencyCode("000.00.00.G22", valid=True, level1="G22", depth=1, parent=None)
    assert normalise_code(" 000.00.01.h04\n") == "000.00.01.H04"


@pytest.mark.parametrize("text", ["28.22.H17", "01.02.G22", "H37.DN.001", "", "000.00.00.HH4", "000.00.00.H04.1"])
def test_malformed_codes_are_kept_and_flagged(text: str) -> None:
    code = parse_agency_code(text)
    assert not code.valid and code.parent is None and code.depth == 0 and code.text == text.strip().upper()


def test_parents_climb_to_the_level1_body() -> None:
    code, chain = "007.05.21.H04", []
    while code:
        chain.append(code)
        code = parse_agency_code(code).parent
    assert chain == ["007.05.21.H04", "000.05.21.H04", "000.00.21.H04", "000.00.00.H04"]
