"""Agency codes: read right to left, parents by zeroing, malformed codes kept and flagged."""

from __future__ import annotations

import re

import pytest

from docflow.agency import AgencyCode, normalise_code, parse_agency_code
from docflow.store.classify import classify_level
from docflow.store.ownership import normalise_name
from samples.province import province_units


@pytest.mark.parametrize(
    ("text", "depth", "parent"),
    [
        ("000.00.00.H04", 1, None),
        ("000.00.21.H04", 2, "000.00.00.H04"),
        ("000.05.21.H04", 3, "000.00.21.H04"),
        ("007.05.21.H04", 4, "000.05.21.H04"),
        ("001.00.10.H47", 3, "000.00.10.H47"),
    ],
)
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


# -- one parser: the store's and classify's old private parsers, kept here only as the reference -------------

_OLD_CODE = re.compile(r"^(\d{3})\.(\d{2})\.(\d{2})\.([A-Z])(\d{2})$")
_OLD_PATTERN = re.compile(r"^(\d{3})\.(\d{2})\.(\d{2})\.([A-Z]\d{2})$")


def _old_parent_code(code: str) -> str | None:
    """``docflow.store.core._parent_code`` before issue 15."""
    if not _OLD_PATTERN.match(code):
        return None
    segments = code.split(".")
    for position, width in ((0, 3), (1, 2), (2, 2)):
        if int(segments[position]):
            segments[position] = "0" * width
            return ".".join(segments)
    return None


def _old_classify_level(code: str, name: str | None, parent_level: str | None) -> str:
    """``docflow.store.classify.classify_level`` with its ``_depth`` before issue 15."""
    match = _OLD_CODE.match(code.strip())
    depth = (
        None
        if not match
        else (4 if int(match.group(1)) else 3 if int(match.group(2)) else 2 if int(match.group(3)) else 1)
    )
    words = normalise_name(name) if name else ""
    if depth is None:
        return "unknown"
    if depth == 1:
        return "province" if code.strip()[-3] == "H" else "other"
    if depth == 2:
        return (
            "district"
            if words.startswith(("ubnd huyen", "ubnd thi xa", "ubnd thanh pho", "ubnd quan"))
            else "department"
        )
    if depth == 3 and (parent_level == "district" or words.startswith(("ubnd xa", "ubnd phuong", "ubnd thi tran"))):
        return "commune"
    return "other"


_CODES = sorted(
    {
        "000.00.00.H04",
        "000.00.21.H04",
        "000.05.21.H04",
        "007.05.21.H04",
        "001.00.10.H47",
        "007.00.21.H04",
        "007.05.00.H04",
        "000.00.00.G22",
        "000.00.00.G17",
        "999.99.99.H04",
        "900.00.00.H04",
        "28.22.H17",
        "01.02.G22",
        "H37.DN.001",
        "",
        "000.00.00.HH4",
        "000.00.00.H04.1",
        "  000.00.00.g22 ",
        " 000.00.01.h04\n",
        "000.00.02.h04",
        " 000.00.21.H04",
        "000.00.21.H04 ",
        "000.00.21.H04\n",
        *(unit.code for unit in province_units()),
    }
)
_NAMES = (
    None,
    "",
    "UBND tỉnh Bắc Kạn",
    "Sở Tài chính",
    "UBND huyện Ba Bể",
    "Ủy ban nhân dân thị xã X",
    "UBND Phường Y",
    "UBND xã Nam Mẫu",
    "Phòng Tổ chức",
)


@pytest.mark.parametrize("code", _CODES)
def test_the_one_parser_gives_the_store_what_its_old_parsers_gave(code: str) -> None:
    stored = parse_agency_code(code.strip(), normalise=False)  # the store keeps a code stripped, as written
    assert stored.parent == _old_parent_code(code.strip())
    assert stored.valid == bool(_OLD_PATTERN.match(code.strip()))
    for name in _NAMES:
        for parent_level in (None, "province", "district", "department", "commune"):
            assert classify_level(code, name, parent_level) == _old_classify_level(code, name, parent_level), (
                code,
                name,
                parent_level,
            )


def test_deepest_level_and_depth_differ_only_on_codes_with_a_zero_between() -> None:
    assert parse_agency_code("007.00.21.H04").deepest_level == 4 and parse_agency_code("007.00.21.H04").depth == 3
    assert parse_agency_code("000.05.21.H04").deepest_level == 3 == parse_agency_code("000.05.21.H04").depth
    assert parse_agency_code("000.00.00.H04").deepest_level == 1
    assert parse_agency_code("H37.DN.001").deepest_level == 0
    assert not parse_agency_code("000.00.02.h04", normalise=False).valid
    assert parse_agency_code("000.00.02.h04").valid
