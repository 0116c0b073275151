"""The demo province through the 2025 reorganisation: Bắc Kạn (H04) merges into Thái Nguyên (H55).

From January 2025 to September 2026, so that the quarters before the change (2025-Q1, Q2)
and after it (2025-Q3 to 2026-Q3) all have documents. On 1 July 2025:

- UBND tỉnh Bắc Kạn ends (valid_to 2025-06-30) and names UBND tỉnh Thái Nguyên as its successor;
  the merged province keeps Thái Nguyên's code ``000.00.00.H55``.
- Every district (UBND huyện, thành phố thuộc tỉnh) of both provinces ends with no successor: the
  district level no longer exists, and its history is not carried to anyone.
- The communes of each former district are merged three at a time into new, larger communes
  (valid_from 2025-07-01) directly under the province; a new commune's code sits in the level-2 slot
  ``000.00.NN.H55``, so only the unit list (level ``commune``) says it is a commune.
- Sở are merged: Sở Nông nghiệp và Phát triển nông thôn and Sở Tài nguyên và Môi trường into a new
  Sở Nông nghiệp và Môi trường; Sở Kế hoạch và Đầu tư into Sở Tài chính, Sở Giao thông vận tải into
  Sở Xây dựng, Sở Thông tin và Truyền thông into Sở Khoa học và Công nghệ (the absorbing sở keeps its
  code); Ban Dân tộc becomes Sở Dân tộc và Tôn giáo; Sở Lao động - Thương binh và Xã hội is split
  between Sở Nội vụ and Sở Y tế (two successors). Bắc Kạn's sở go into Thái Nguyên's.

Documents of 2025-H1 carry the old codes; from July the new ones. Thái Nguyên's own side is kept
small (its province bodies and two of its districts) so that the demo stays quick. H55 is inferred
from the alphabetical order of the 63 pre-2025 province codes (docs/domain.md §2), not confirmed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from samples.pki import write_trust_dir
from samples.province import (
    _DEPARTMENTS,
    PlannedDocument,
    Profile,
    ProvinceBuild,
    ProvinceUnit,
    _abbreviation,
    _batch_files,
    _commune_name,
    _quarter,
    _Signers,
    _slug,
    _write_batch,
    _write_csv,
    _write_issued,
    documents_between,
    province_units,
)

__all__ = ["FIRST_DAY", "LAST_OLD_DAY", "LAST_DAY", "MERGED_PROVINCE", "UnitSpan", "reorganised_units",
           "plan_reorganised", "build_reorganised"]  # fmt: skip

FIRST_DAY = date(2025, 1, 2)
LAST_OLD_DAY = date(2025, 6, 30)
"""The last day the old structure is in force (valid_to is inclusive)."""
MERGER_DAY = date(2025, 7, 1)
LAST_DAY = date(2026, 9, 30)
MERGED_LEVEL1 = "H55"
MERGED_PROVINCE = f"000.00.00.{MERGED_LEVEL1}"
_ERAS = ((FIRST_DAY, LAST_OLD_DAY), (MERGER_DAY, LAST_DAY))

# Thái Nguyên's own districts in the demo (the other seven are left out to keep the demo quick).
_MERGED_DISTRICTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("UBND thành phố Thái Nguyên", ("P. Hoàng Văn Thụ", "P. Trưng Vương", "P. Phan Đình Phùng", "P. Quang Trung",
                                    "P. Tân Thịnh", "P. Gia Sàng", "Phúc Xuân", "Phúc Trìu", "Quyết Thắng")),
    ("UBND huyện Định Hóa", ("TT. Chợ Chu", "Bảo Linh", "Bình Thành", "Điềm Mặc", "Định Biên", "Kim Phượng",
                             "Phú Đình", "Phượng Tiến", "Trung Hội")),
)  # fmt: skip

# Sở by their number in ``_DEPARTMENTS`` (1-based): which ones go into which after 1 July 2025.
_NEW_DEPARTMENTS = {31: "Sở Nông nghiệp và Môi trường", 32: "Sở Dân tộc và Tôn giáo"}
_DEPARTMENT_SUCCESSORS: dict[int, tuple[int, ...]] = {
    3: (4,), 6: (31,), 9: (31,), 7: (8,), 10: (13,), 17: (32,),
    11: (1, 15),  # the split: labour to Sở Nội vụ, social protection to Sở Y tế
}  # fmt: skip
_DEPARTMENT_PROFILES = {4: Profile.PAPER_HEAVY, 8: Profile.PERSONAL_ONLY, 12: Profile.SLOPPY, 31: Profile.DECLINING}
_COMMUNES_PER_NEW_COMMUNE = 3
_FIRST_NEW_COMMUNE = 41
"""New communes take level-2 numbers from here, clear of the sở (01–32) and the old districts (21–28)."""
_NEW_COMMUNE_DOCUMENTS = 40
"""A merged commune does the work of two or three old ones (an old one: 25 a year)."""


@dataclass(frozen=True)
class UnitSpan:
    """A unit and its life span: in force from ``valid_from`` to ``valid_to`` inclusive (None: open)."""

    unit: ProvinceUnit
    valid_from: date | None = None
    valid_to: date | None = None
    successors: tuple[str, ...] = ()

    def in_force(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


def _code(number: int, level1: str, commune: int = 0) -> str:
    return f"000.{commune:02d}.{number:02d}.{level1}"


def _departments() -> list[UnitSpan]:
    """Thái Nguyên's sở (continuing or merged away) and the two new ones."""
    spans = []
    for number, name in enumerate(_DEPARTMENTS, start=1):
        profile = _DEPARTMENT_PROFILES.get(number, Profile.GOOD)
        unit = ProvinceUnit(_code(number, MERGED_LEVEL1), name, "department", MERGED_PROVINCE, profile, 50,
                            _abbreviation(name))  # fmt: skip
        successors = tuple(_code(n, MERGED_LEVEL1) for n in _DEPARTMENT_SUCCESSORS.get(number, ()))
        spans.append(UnitSpan(unit, valid_to=LAST_OLD_DAY if successors else None, successors=successors))
    for number, name in _NEW_DEPARTMENTS.items():
        profile = _DEPARTMENT_PROFILES.get(number, Profile.GOOD)
        unit = ProvinceUnit(_code(number, MERGED_LEVEL1), name, "department", MERGED_PROVINCE, profile, 50,
                            _abbreviation(name))  # fmt: skip
        spans.append(UnitSpan(unit, valid_from=MERGER_DAY))
    return spans


def _merged_districts(rng: random.Random) -> list[ProvinceUnit]:
    """Thái Nguyên's two districts in the demo and their communes, as they were until 30 June 2025."""
    units = []
    for offset, (district, communes) in enumerate(_MERGED_DISTRICTS):
        district_code = _code(21 + offset, MERGED_LEVEL1)
        units.append(ProvinceUnit(district_code, district, "district", MERGED_PROVINCE, Profile.GOOD, 60, "UBND"))
        for ordinal, short in enumerate(communes, start=1):
            profile = rng.choice((Profile.GOOD, Profile.GOOD, Profile.PAPER_HEAVY, Profile.SLOPPY))
            code = _code(21 + offset, MERGED_LEVEL1, ordinal)
            units.append(ProvinceUnit(code, _commune_name(short), "commune", district_code, profile, 25, "UBND"))
    return units


def _merged_communes(old: list[ProvinceUnit], rng: random.Random) -> tuple[list[UnitSpan], list[UnitSpan]]:
    """Old communes (ending, each naming the new commune it went into) and the new communes."""
    ended: list[UnitSpan] = []
    created: list[UnitSpan] = []
    number = _FIRST_NEW_COMMUNE
    for district in (u for u in old if u.level == "district"):
        communes = [u for u in old if u.parent == district.code]
        starts = list(range(0, len(communes), _COMMUNES_PER_NEW_COMMUNE))
        if len(starts) > 1 and len(communes) % _COMMUNES_PER_NEW_COMMUNE == 1:
            starts.pop()  # a lone commune left over joins the last group: a merger takes two or more
        for start, end in zip(starts, [*starts[1:], len(communes)], strict=True):
            members = communes[start:end]
            code = _code(number, MERGED_LEVEL1)
            number += 1
            # The new commune takes the name of one of its predecessors, as many did.
            profile = rng.choice((Profile.GOOD, Profile.GOOD, Profile.GOOD, Profile.PAPER_HEAVY, Profile.SLOPPY,
                                  Profile.PERSONAL_ONLY, Profile.DECLINING))  # fmt: skip
            # No thị trấn after 2025: a new unit is a phường or a xã.
            name = members[0].name.replace("UBND thị trấn ", "UBND xã ")
            unit = ProvinceUnit(code, name, "commune", MERGED_PROVINCE, profile, _NEW_COMMUNE_DOCUMENTS,
                                "UBND")  # fmt: skip
            created.append(UnitSpan(unit, valid_from=MERGER_DAY))
            ended.extend(UnitSpan(member, valid_to=LAST_OLD_DAY, successors=(code,)) for member in members)
    return ended, created


def reorganised_units(seed: int = 2018) -> tuple[UnitSpan, ...]:
    """Every unit of the demo with its life span: both provinces before the merger, the merged one after."""
    rng = random.Random(seed + 2025)
    bac_kan = list(province_units(seed))
    old_merged = _merged_districts(rng)
    spans: list[UnitSpan] = []
    for unit in bac_kan:
        if unit.level == "province":
            spans.append(UnitSpan(unit, valid_to=LAST_OLD_DAY, successors=(MERGED_PROVINCE,)))
        elif unit.level == "department":
            number = int(unit.code.split(".")[2])
            targets = _DEPARTMENT_SUCCESSORS.get(number, (number,))
            spans.append(
                UnitSpan(unit, valid_to=LAST_OLD_DAY, successors=tuple(_code(n, MERGED_LEVEL1) for n in targets))
            )
        elif unit.level == "district":
            spans.append(UnitSpan(unit, valid_to=LAST_OLD_DAY))  # dissolved: no successor, history not carried
    province = ProvinceUnit(MERGED_PROVINCE, "UBND tỉnh Thái Nguyên", "province", None, Profile.GOOD, 90, "UBND")
    spans.append(UnitSpan(province))
    spans.extend(_departments())
    spans.extend(UnitSpan(unit, valid_to=LAST_OLD_DAY) for unit in old_merged if unit.level == "district")
    ended, created = _merged_communes(bac_kan + old_merged, rng)
    return tuple(spans + ended + created)


def plan_reorganised(spans: tuple[UnitSpan, ...], scale: float = 1.0, seed: int = 2018) -> tuple[PlannedDocument, ...]:
    """Each unit's outgoing documents while it is in force, in date order; same inputs, same plan.

    A document's recipients are units of its own province in force at the time, so H1 2025 carries only
    old codes and July 2025 on only new ones.
    """
    rng = random.Random(seed + 2025)
    documents: list[PlannedDocument] = []
    numbers: dict[str, int] = {}
    for first, last in _ERAS:
        in_force = tuple(span.unit for span in spans if span.in_force(first))
        days = (last - first).days + 1
        for unit in in_force:
            peers = tuple(u for u in in_force if u.code[-3:] == unit.code[-3:])
            count = max(1, round(unit.yearly_documents * scale * days / 365))
            number = numbers.get(unit.code, 1)
            documents.extend(documents_between(unit, peers, (first, days), count, rng, first_number=number))
            numbers[unit.code] = number + count
    return tuple(sorted(documents, key=lambda d: (d.promulgation_date, d.document_id)))


def _group_of(unit: ProvinceUnit) -> str:
    """Batches: per district with its communes, the new communes ten a batch, the province's own bodies."""
    if unit.level == "commune" and unit.parent != MERGED_PROVINCE and unit.parent:
        return unit.parent
    if unit.level == "commune":
        return f"{MERGED_PROVINCE}-xa-{(int(unit.code.split('.')[2]) - _FIRST_NEW_COMMUNE) // 10 + 1}"
    if unit.level == "district":
        return unit.code
    return f"000.00.00.{unit.code[-3:]}"


def _write_units(path: Path, spans: tuple[UnitSpan, ...]) -> None:
    """The unit list in the shape ``docflow units import`` reads, life spans and successors included."""

    def day(value: date | None) -> str:
        return value.isoformat() if value else ""

    header = ("code", "name", "level", "parent", "valid_from", "valid_to", "successors")
    rows: list[tuple[object, ...]] = [
        (s.unit.code, s.unit.name, s.unit.level, s.unit.parent or "", day(s.valid_from), day(s.valid_to),
         ";".join(s.successors))
        for s in spans
    ]  # fmt: skip
    _write_csv(path, header, rows)


def build_reorganised(root: Path, *, scale: float = 1.0, seed: int = 2018) -> ProvinceBuild:
    """Write the demo province under ``root``: quarterly batches from 2025-Q1 to 2026-Q3, trust dir, lists."""
    spans = reorganised_units(seed)
    units = tuple(span.unit for span in spans)
    by_code = {unit.code: unit for unit in units}
    documents = plan_reorganised(spans, scale, seed)
    # Certificates dated from 2025: the expired ones end before it, the revoked ones are revoked at its start.
    signers = _Signers(units, FIRST_DAY.year, seed)
    inbox = root / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    grouped: dict[tuple[str, str], list[PlannedDocument]] = {}
    for document in documents:
        day = document.promulgation_date
        key = (f"{day.year}-Q{_quarter(day)}", _group_of(by_code[document.sender]))
        grouped.setdefault(key, []).append(document)
    for (quarter, group), members in sorted(grouped.items()):
        _write_batch(inbox / f"{quarter}-{_slug(group)}.zip", _batch_files(members, by_code, signers))
    # After signing: the revoked certificates are made on first use and must reach the CRL.
    trust_dir = write_trust_dir(signers.pki, root / "trust")
    _write_units(root / "units.csv", spans)
    _write_issued(root / "issued-certificates.csv", signers)
    return ProvinceBuild(root=root, inbox=inbox, trust_dir=trust_dir, units_file=root / "units.csv",
                         issued_file=root / "issued-certificates.csv", units=len(units), batches=len(grouped),
                         documents=len(documents))  # fmt: skip
