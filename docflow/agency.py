"""Agency identifier codes (mã định danh, QCVN 102:2016; docs/domain.md §2).

A code ``V1V2V3.Z1Z2.Y1Y2.Xn1n2`` is read right to left: ``Xn1n2`` is the level-1 body
(``H04`` = a province), then the level-2, level-3 and level-4 ordinals; a zero segment
means "the unit itself at that level". Real exports also carry malformed or test codes
(``28.22.H17``, ``H37.DN.001``): those are kept, flagged invalid, and never raise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["AgencyCode", "parse_agency_code", "normalise_code", "CODE_PATTERN"]

CODE_PATTERN = re.compile(r"^(\d{3})\.(\d{2})\.(\d{2})\.([A-Z]\d{2})$")


@dataclass(frozen=True)
class AgencyCode:
    """One agency code as written, with what its structure says (when it has one)."""

    text: str
    """The normalised code, kept even when malformed."""
    valid: bool
    level1: str | None = None
    """``H04``, ``G22``…; None for a malformed code."""
    depth: int = 0
    """1 for a level-1 body (``000.00.00.H04``) up to 4; 0 for a malformed code."""
    parent: str | None = None
    """The code one level up; None for a level-1 body or a malformed code."""

    @property
    def deepest_level(self) -> int:
        """The deepest level whose ordinal is not zero (4 for ``007.00.21.H04``, where ``depth`` is 3); 1 for a
        level-1 body, 0 for a malformed code."""
        if not self.valid:
            return 0
        ordinals = self.text.split(".")[:3]
        return next((4 - position for position, ordinal in enumerate(ordinals) if int(ordinal)), 1)

    def __str__(self) -> str:
        return self.text


def normalise_code(text: str) -> str:
    """Codes arrive with stray spaces and lower-case letters from hand-typed registers."""
    return text.strip().upper()


def parse_agency_code(text: str, *, normalise: bool = True) -> AgencyCode:
    """Parse a code; a malformed one comes back with ``valid=False`` rather than an error.

    ``normalise=False``: the code is read exactly as written (as the store keeps it), so one with
    stray spaces or lower-case letters is malformed.
    """
    code = normalise_code(text) if normalise else text
    match = CODE_PATTERN.match(code)
    if match is None:
        return AgencyCode(code, valid=False)
    level4, level3, level2, level1 = match.groups()
    # Leftmost first, so zeroing the first non-zero one climbs a single level.
    ordinals = [level4, level3, level2]
    non_zero = [index for index, ordinal in enumerate(ordinals) if int(ordinal) != 0]
    if not non_zero:
        return AgencyCode(code, valid=True, level1=level1, depth=1)
    ordinals[non_zero[0]] = "0" * len(ordinals[non_zero[0]])
    parent = ".".join([*ordinals, level1])
    return AgencyCode(code, valid=True, level1=level1, depth=1 + len(non_zero), parent=parent)
