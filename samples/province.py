"""A demo province shaped like Bắc Kạn (H04) in its 2018 evaluation: 19 province-level
bodies, 8 districts and 109 communes, and a year of their documents.

Two halves. ``province_units`` and ``plan_documents`` are a pure, seeded model: who
the units are, how each behaves (good, paper-heavy, personal-only, sloppy, declining,
quiet) and which documents they issue. ``build_province`` turns the plan into files a
province office would really hand over: edXML packages carrying signed PDFs, status
packages, register exports (some cp1258 with Vietnamese headers), a trust dir, the
unit list and the list of certificates issued to units.

Unit codes follow QCVN 102 read right to left: level-2 bodies (sở and huyện) are
``000.00.NN.H04``, communes ``000.ZZ.NN.H04`` under their district ``NN``.
"""

from __future__ import annotations

import csv
import enum
import io
import random
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from docflow.records import Channel, document_key
from samples.edxml import Attachment, build_edxml, build_status
from samples.pdfgen import append_after_signature, make_pdf, sign_pdf
from samples.pki import (
    Issued,
    PrivateKey,
    build_pki,
    issue_organisation,
    issue_person,
    new_key,
    revoke,
    write_trust_dir,
)

__all__ = [
    "LEVEL1",
    "Profile",
    "ProvinceUnit",
    "SignaturePlan",
    "PlannedDocument",
    "province_units",
    "plan_documents",
    "encode_cp1258",
    "ProvinceBuild",
    "build_province",
]

LEVEL1 = "H04"
PROVINCE_CODE = f"000.00.00.{LEVEL1}"

_DEPARTMENTS: tuple[str, ...] = (
    "Sở Nội vụ", "Sở Tư pháp", "Sở Kế hoạch và Đầu tư", "Sở Tài chính", "Sở Công Thương",
    "Sở Nông nghiệp và Phát triển nông thôn", "Sở Giao thông vận tải", "Sở Xây dựng",
    "Sở Tài nguyên và Môi trường", "Sở Thông tin và Truyền thông",
    "Sở Lao động - Thương binh và Xã hội", "Sở Văn hóa, Thể thao và Du lịch",
    "Sở Khoa học và Công nghệ", "Sở Giáo dục và Đào tạo", "Sở Y tế", "Thanh tra tỉnh",
    "Ban Dân tộc", "Ban Quản lý các khu công nghiệp",
)  # fmt: skip

# District name, then its communes ("P." phường, "TT." thị trấn, otherwise xã).
_DISTRICTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("UBND thành phố Bắc Kạn", ("P. Đức Xuân", "P. Phùng Chí Kiên", "P. Nguyễn Thị Minh Khai", "P. Sông Cầu",
                                "P. Huyền Tụng", "Xuất Hóa", "Nông Thượng", "Dương Quang")),
    ("UBND huyện Ba Bể", ("TT. Chợ Rã", "Bành Trạch", "Cao Thượng", "Cao Trĩ", "Chu Hương", "Địa Linh",
                          "Đồng Phúc", "Hà Hiệu", "Hoàng Trĩ", "Khang Ninh", "Mỹ Phương", "Nam Mẫu",
                          "Phúc Lộc", "Quảng Khê", "Thượng Giáo")),
    ("UBND huyện Bạch Thông", ("TT. Phủ Thông", "Cao Sơn", "Cẩm Giàng", "Đôn Phong", "Dương Phong", "Lục Bình",
                               "Mỹ Thanh", "Nguyên Phúc", "Quân Bình", "Quang Thuận", "Sĩ Bình", "Tân Tú",
                               "Vi Hương", "Vũ Muộn")),
    ("UBND huyện Chợ Đồn", ("TT. Bằng Lũng", "Bản Thi", "Bằng Lãng", "Bằng Phúc", "Bình Trung", "Đại Sảo",
                            "Đồng Lạc", "Đông Viên", "Lương Bằng", "Nam Cường", "Nghĩa Tá", "Ngọc Phái",
                            "Phương Viên", "Quảng Bạch", "Tân Lập", "Xuân Lạc", "Yên Mỹ", "Yên Phong",
                            "Yên Thịnh", "Yên Thượng")),
    ("UBND huyện Chợ Mới", ("TT. Đồng Tâm", "Bình Văn", "Cao Kỳ", "Hòa Mục", "Mai Lạp", "Như Cố", "Nông Hạ",
                            "Quảng Chu", "Tân Sơn", "Thanh Mai", "Thanh Thịnh", "Thanh Vận", "Yên Cư",
                            "Yên Hân")),
    ("UBND huyện Na Rì", ("TT. Yến Lạc", "Côn Minh", "Cư Lễ", "Cường Lợi", "Dương Sơn", "Đổng Xá", "Kim Hỷ",
                          "Kim Lư", "Lạng San", "Liêm Thủy", "Lương Thượng", "Quang Phong", "Sơn Thành",
                          "Trần Phú", "Văn Lang", "Văn Minh", "Xuân Dương")),
    ("UBND huyện Ngân Sơn", ("TT. Nà Phặc", "Bằng Vân", "Cốc Đán", "Đức Vân", "Hiệp Lực", "Thuần Mang",
                             "Thượng Ân", "Thượng Quan", "Trung Hòa", "Vân Tùng", "Lãng Ngâm")),
    ("UBND huyện Pác Nặm", ("Bộc Bố", "Bằng Thành", "Cao Tân", "Cổ Linh", "Công Bằng", "Giáo Hiệu",
                            "Nghiên Loan", "Nhạn Môn", "An Thắng", "Xuân La")),
)  # fmt: skip

_COMMUNE_PREFIXES = {"P.": "UBND phường", "TT.": "UBND thị trấn"}


class Profile(str, enum.Enum):
    """How a unit behaves over the year."""

    GOOD = "good"
    PAPER_HEAVY = "paper_heavy"
    PERSONAL_ONLY = "personal_only"
    SLOPPY = "sloppy"
    DECLINING = "declining"
    QUIET = "quiet"
    """Too few documents to rank."""


class SignaturePlan(str, enum.Enum):
    """What an outgoing document carries."""

    PAPER = "paper"
    """Issued on paper only: appears in the register, never on the axis."""
    ND30 = "nd30"
    """Personal then organisation signature, both valid (NĐ 30/2020)."""
    PERSONAL_ONLY = "personal_only"
    UNSIGNED = "unsigned"
    TAMPERED = "tampered"
    """Valid signatures, then bytes appended after the last one."""
    EXPIRED = "expired"
    """Organisation signature made with an expired certificate."""
    REVOKED = "revoked"
    UNTRUSTED = "untrusted"
    """Signed with a certificate from a CA outside the trust dir."""
    WRONG_UNIT = "wrong_unit"
    """Organisation signature of another unit."""


@dataclass(frozen=True)
class ProvinceUnit:
    code: str
    name: str
    level: str
    parent: str | None
    profile: Profile
    yearly_documents: int
    """Outgoing documents in a year at scale 1."""
    abbreviation: str
    """For notations such as ``12/STC-VP``."""


@dataclass(frozen=True)
class PlannedDocument:
    document_id: str
    sender: str
    recipients: tuple[str, ...]
    number: str
    notation: str
    promulgation_date: date
    type_name: str
    subject: str
    plan: SignaturePlan
    paper_copy: bool
    """Electronic, with a paper copy sent too (edXML ``Paper=1``)."""
    confidential: bool
    due_date: date | None
    handled: tuple[tuple[str, date], ...]
    """(recipient, day it reported status 06)."""

    @property
    def channel(self) -> Channel:
        if self.plan is SignaturePlan.PAPER:
            return Channel.PAPER
        return Channel.BOTH if self.paper_copy else Channel.ELECTRONIC


def _abbreviation(name: str) -> str:
    words = [w for w in name.replace(",", " ").replace("-", " ").split() if w not in ("và", "các")]
    letters = "".join(w[0] for w in words if w[0].isalpha()).upper()
    decomposed = unicodedata.normalize("NFD", letters.replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _commune_name(short: str) -> str:
    for prefix, long_form in _COMMUNE_PREFIXES.items():
        if short.startswith(prefix):
            return f"{long_form} {short[len(prefix) :].strip()}"
    return f"UBND xã {short}"


# Deterministic profile assignment: enough of each behaviour to show every flag.
_DEPARTMENT_PROFILES = {3: Profile.PAPER_HEAVY, 7: Profile.PERSONAL_ONLY, 10: Profile.SLOPPY, 14: Profile.DECLINING}
_DISTRICT_PROFILES = {2: Profile.PAPER_HEAVY, 5: Profile.SLOPPY, 7: Profile.DECLINING}
_COMMUNE_PROFILE_WEIGHTS = (
    (Profile.GOOD, 55), (Profile.PAPER_HEAVY, 15), (Profile.PERSONAL_ONLY, 10),
    (Profile.SLOPPY, 8), (Profile.DECLINING, 6), (Profile.QUIET, 6),
)  # fmt: skip


def province_units(seed: int = 2018) -> tuple[ProvinceUnit, ...]:
    """The 136 units: UBND tỉnh, 18 sở/ban/ngành, 8 districts and their 109 communes."""
    rng = random.Random(seed)
    units = [ProvinceUnit(PROVINCE_CODE, "UBND tỉnh Bắc Kạn", "province", None, Profile.GOOD, 90, "UBND")]
    for number, name in enumerate(_DEPARTMENTS, start=1):
        profile = _DEPARTMENT_PROFILES.get(number, Profile.GOOD)
        code = f"000.00.{number:02d}.{LEVEL1}"
        units.append(ProvinceUnit(code, name, "department", PROVINCE_CODE, profile, 50, _abbreviation(name)))
    profiles, weights = zip(*_COMMUNE_PROFILE_WEIGHTS)
    for offset, (district, communes) in enumerate(_DISTRICTS):
        district_code = f"000.00.{21 + offset:02d}.{LEVEL1}"
        profile = _DISTRICT_PROFILES.get(offset, Profile.GOOD)
        units.append(ProvinceUnit(district_code, district, "district", PROVINCE_CODE, profile, 60, "UBND"))
        for ordinal, short in enumerate(communes, start=1):
            commune_profile = rng.choices(profiles, weights)[0]
            volume = 4 if commune_profile is Profile.QUIET else 25
            code = f"000.{ordinal:02d}.{21 + offset:02d}.{LEVEL1}"
            units.append(
                ProvinceUnit(code, _commune_name(short), "commune", district_code, commune_profile, volume, "UBND")
            )
    return tuple(units)


_TYPES = (("Công văn", 70), ("Quyết định", 10), ("Báo cáo", 8), ("Kế hoạch", 5), ("Thông báo", 4), ("Tờ trình", 3))
_TYPE_PREFIX = {"Quyết định": "QĐ", "Báo cáo": "BC", "Kế hoạch": "KH", "Thông báo": "TB", "Tờ trình": "TTr"}
_SUBJECTS = (
    "Về việc báo cáo kết quả thực hiện nhiệm vụ tháng",
    "Về việc triển khai ứng dụng chữ ký số chuyên dùng",
    "Về việc rà soát thủ tục hành chính",
    "Về việc tăng cường gửi, nhận văn bản điện tử",
    "Về việc phòng chống thiên tai, tìm kiếm cứu nạn",
    "Về việc giao chỉ tiêu kế hoạch năm",
    "Về việc tổ chức hội nghị sơ kết",
    "Về việc thực hiện chương trình mục tiêu quốc gia",
)  # fmt: skip
_FAULTS = (SignaturePlan.TAMPERED, SignaturePlan.EXPIRED, SignaturePlan.REVOKED,
           SignaturePlan.UNTRUSTED, SignaturePlan.WRONG_UNIT)  # fmt: skip


def _plan_weights(profile: Profile, month: int) -> dict[SignaturePlan, float]:
    """Chance of each signature plan for a document of this profile in this month."""
    weights = {SignaturePlan.PAPER: 2.0, SignaturePlan.ND30: 96.5, SignaturePlan.PERSONAL_ONLY: 1.0,
               SignaturePlan.UNSIGNED: 0.5}  # fmt: skip
    if profile is Profile.PAPER_HEAVY:
        weights.update({SignaturePlan.PAPER: 45.0, SignaturePlan.ND30: 52.0})
    elif profile is Profile.PERSONAL_ONLY:
        weights.update({SignaturePlan.PERSONAL_ONLY: 70.0, SignaturePlan.ND30: 25.0})
    elif profile is Profile.SLOPPY:
        weights.update({fault: 6.0 for fault in _FAULTS})
        weights.update({SignaturePlan.ND30: 60.0, SignaturePlan.UNSIGNED: 4.0, SignaturePlan.PAPER: 6.0})
    elif profile is Profile.DECLINING:
        paper = 2.0 + 6.5 * (month - 1)
        weights.update({SignaturePlan.PAPER: paper, SignaturePlan.ND30: 97.0 - paper})
    return weights


def _recipients(unit: ProvinceUnit, units: tuple[ProvinceUnit, ...], rng: random.Random) -> tuple[str, ...]:
    # ``units``: those in force when the document is issued, so the province is the one of that time.
    province = next((u.code for u in units if u.level == "province"), PROVINCE_CODE)
    level2 = [u.code for u in units if u.level in ("department", "district") and u.code != unit.code]
    own_communes = [u.code for u in units if u.parent == unit.code and u.level == "commune"]
    if unit.level == "province":
        chosen = rng.sample(level2, 4)
    elif unit.level == "commune":
        chosen = [unit.parent or province] + rng.sample(level2, rng.randint(0, 1))
    else:
        chosen = [province] + rng.sample(level2, rng.randint(0, 2))
        chosen += rng.sample(own_communes, min(len(own_communes), rng.randint(0, 3)))
    return tuple(dict.fromkeys(chosen))


def _handling(
    recipients: tuple[str, ...], sent: date, due: date | None, rng: random.Random
) -> tuple[tuple[str, date], ...]:
    handled = []
    for recipient in recipients:
        if rng.random() < 0.85:
            late = due is not None and rng.random() < 0.2
            limit = (due - sent).days if due else 10
            days = limit + rng.randint(1, 10) if late else rng.randint(0, max(limit, 0))
            handled.append((recipient, sent + timedelta(days=days)))
    return tuple(handled)


def documents_between(
    unit: ProvinceUnit,
    units: tuple[ProvinceUnit, ...],
    span: tuple[date, int],
    count: int,
    rng: random.Random,
    first_number: int = 1,
) -> list[PlannedDocument]:
    """``count`` outgoing documents of ``unit`` issued within ``span`` (first day, number of days)."""
    first_day, days_in_span = span
    days = sorted(first_day + timedelta(days=rng.randrange(days_in_span)) for _ in range(count))
    type_names, type_weights = zip(*_TYPES)
    planned = []
    for number, day in enumerate(days, start=first_number):
        type_name = rng.choices(type_names, type_weights)[0]
        prefix = _TYPE_PREFIX.get(type_name)
        notation = f"{prefix}-{unit.abbreviation}" if prefix else f"{unit.abbreviation}-VP"
        weights = _plan_weights(unit.profile, day.month)
        plan = rng.choices(list(weights), list(weights.values()))[0]
        recipients = _recipients(unit, units, rng)
        due = day + timedelta(days=10) if rng.random() < 0.4 else None
        planned.append(
            PlannedDocument(
                document_id=document_key(unit.code, day, str(number), notation),
                sender=unit.code,
                recipients=recipients,
                number=str(number),
                notation=notation,
                promulgation_date=day,
                type_name=type_name,
                subject=rng.choice(_SUBJECTS),
                plan=plan,
                paper_copy=plan is not SignaturePlan.PAPER and rng.random() < 0.02,
                confidential=rng.random() < 0.02,
                due_date=due,
                handled=_handling(recipients, day, due, rng) if plan is not SignaturePlan.PAPER else (),
            )  # fmt: skip
        )
    return planned


def plan_documents(
    units: tuple[ProvinceUnit, ...], year: int = 2026, scale: float = 1.0, seed: int = 2018
) -> tuple[PlannedDocument, ...]:
    """A year of outgoing documents for every unit, in date order; same inputs, same plan."""
    rng = random.Random(seed + year)
    documents: list[PlannedDocument] = []
    for unit in units:
        count = max(1, round(unit.yearly_documents * scale))
        documents.extend(documents_between(unit, units, (date(year, 1, 2), 360), count, rng))
    return tuple(sorted(documents, key=lambda d: (d.promulgation_date, d.document_id)))


_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def encode_cp1258(text: str) -> bytes:
    """Vietnamese text as Windows-1258 writes it: base letters precomposed, tone marks combining."""
    pieces = []
    for char in unicodedata.normalize("NFC", text):
        decomposed = unicodedata.normalize("NFD", char)
        tones = "".join(mark for mark in decomposed if mark in _TONE_MARKS)
        base = unicodedata.normalize("NFC", "".join(mark for mark in decomposed if mark not in _TONE_MARKS))
        pieces.append(base + tones)
    return "".join(pieces).encode("cp1258", errors="replace")


# -- writing the province's files ----------------------------------------------------


@dataclass(frozen=True)
class ProvinceBuild:
    """Where ``build_province`` put everything."""

    root: Path
    inbox: Path
    """Batches (zips), ready for ``docflow watch --once``."""
    trust_dir: Path
    units_file: Path
    issued_file: Path
    """The certificates issued to units, for ``docflow certs import``."""
    units: int
    batches: int
    documents: int


def _group_of(unit: ProvinceUnit) -> str:
    """Batches are exported per district (with its communes) and for the province's own bodies."""
    if unit.level == "commune" and unit.parent:
        return unit.parent
    return unit.code if unit.level == "district" else PROVINCE_CODE


def _slug(code: str) -> str:
    return code.replace(".", "-")


def _write_csv(path: Path, header: tuple[str, ...], rows: list[tuple[object, ...]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)


def _write_units(path: Path, units: tuple[ProvinceUnit, ...]) -> None:
    """The province's unit list, as ``docflow units import`` reads it."""
    _write_csv(path, ("code", "name", "level", "parent"), [(u.code, u.name, u.level, u.parent or "") for u in units])


_SURNAMES = ("Nguyễn", "Hoàng", "Nông", "Triệu", "Hà", "Lý", "Ma", "Đặng", "Lường", "Bế", "Lục", "Dương")
_MIDDLE_NAMES = ("Văn", "Thị", "Đức", "Minh", "Thanh", "Quang", "Hữu", "Ngọc")
_GIVEN_NAMES = ("An", "Bình", "Cường", "Dũng", "Hạnh", "Hùng", "Lan", "Mai", "Nam", "Phương", "Sơn", "Thủy",
                "Tuấn", "Vân", "Giang", "Khánh")  # fmt: skip
_KEY_POOL_SIZE = 4
"""Distinct keys shared by all sample certificates: generating RSA keys is the slow part."""
_LEADER_CHANGE_MONTH = 4
"""Before this month a unit's documents are signed by its former leader, whose certificate then falls idle."""


def _person_names(rng: random.Random, count: int) -> list[str]:
    """Distinct names: two certificates with one subject and start would share a serial."""
    names: list[str] = []
    while len(names) < count:
        name = f"{rng.choice(_SURNAMES)} {rng.choice(_MIDDLE_NAMES)} {rng.choice(_GIVEN_NAMES)}"
        if name not in names:
            names.append(name)
    return names


def _utc(day: date, hour: int = 2, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@dataclass(frozen=True)
class _IssuedTo:
    """A certificate the province issued to a unit (one line of the issued list)."""

    unit: str
    holder: str
    kind: str
    issued: Issued


class _Signers:
    """Every certificate of the demo and who signs what with which."""

    def __init__(self, units: tuple[ProvinceUnit, ...], year: int, seed: int) -> None:
        rng = random.Random(seed)
        self.pki = build_pki()
        self._keys = [new_key("rsa", 2048, f"demo-province-{n}") for n in range(_KEY_POOL_SIZE)]
        self._names = {unit.code: unit.name for unit in units}
        self.issued: list[_IssuedTo] = []
        self._organisation: dict[str, Issued] = {}
        self._leaders: dict[str, tuple[Issued, Issued]] = {}
        self._faulty: dict[tuple[str, SignaturePlan], Issued] = {}
        self._year = year
        for number, unit in enumerate(units):
            self._organisation[unit.code] = self._issue_org(unit)
            former, current, spare = _person_names(rng, 3)
            self._leaders[unit.code] = (self._issue_person(unit, former, rng), self._issue_person(unit, current, rng))
            if number % 11 == 5:  # a certificate handed out and never used
                self._issue_person(unit, spare, rng)

    def _key(self, index: int) -> PrivateKey:
        return self._keys[index % len(self._keys)]

    def _issue_org(self, unit: ProvinceUnit, **validity: datetime) -> Issued:
        parent = self._names.get(unit.parent or "", "UBND tỉnh Bắc Kạn")
        issued = issue_organisation(self.pki, unit.name, organisation=parent, key=self._key(len(self.issued)),
                                    **validity)  # fmt: skip
        self.issued.append(_IssuedTo(unit.code, unit.name, "organisation", issued))
        return issued

    def _issue_person(self, unit: ProvinceUnit, name: str, rng: random.Random) -> Issued:
        issued = issue_person(self.pki, name, agency=unit.name, key=self._key(len(self.issued)),
                              citizen_id=f"0{rng.randrange(10**10, 10**11)}")  # fmt: skip
        self.issued.append(_IssuedTo(unit.code, name, "person", issued))
        return issued

    def person(self, unit: ProvinceUnit, day: date) -> Issued:
        former, current = self._leaders[unit.code]
        return former if day.month < _LEADER_CHANGE_MONTH else current

    def organisation(self, unit: ProvinceUnit, plan: SignaturePlan, other_unit: str) -> Issued:
        """The organisation certificate this plan signs with (faulty ones are made on first use)."""
        if plan is SignaturePlan.WRONG_UNIT:
            return self._organisation[other_unit]
        if plan not in (SignaturePlan.EXPIRED, SignaturePlan.REVOKED, SignaturePlan.UNTRUSTED):
            return self._organisation[unit.code]
        if (unit.code, plan) not in self._faulty:
            self._faulty[(unit.code, plan)] = self._make_faulty(unit, plan)
        return self._faulty[(unit.code, plan)]

    def _make_faulty(self, unit: ProvinceUnit, plan: SignaturePlan) -> Issued:
        start = datetime(self._year - 4, 1, 1, tzinfo=UTC)
        if plan is SignaturePlan.UNTRUSTED:
            # Bought from a CA outside the government PKI: not on the province's list.
            return issue_organisation(self.pki, unit.name, key=self._key(0), issuer=self.pki.untrusted_root,
                                      not_before=start)  # fmt: skip
        if plan is SignaturePlan.EXPIRED:
            return self._issue_org(unit, not_before=start, not_after=_utc(date(self._year - 1, 12, 31)))
        revoked = self._issue_org(unit, not_before=start + timedelta(days=1))
        revoke(self.pki, revoked, _utc(date(self._year, 1, 1)))
        return revoked


def _signed_pdf(document: PlannedDocument, unit: ProvinceUnit, signers: _Signers) -> bytes | None:
    """The PDF a document's edXML package carries, signed as its plan says; None for paper."""
    if document.plan is SignaturePlan.PAPER:
        return None
    pdf = make_pdf(f"{document.type_name} so {document.number}/{document.notation}",
                   [document.subject, unit.name, document.promulgation_date.isoformat()])  # fmt: skip
    if document.plan is SignaturePlan.UNSIGNED:
        return pdf
    day = document.promulgation_date
    pdf = sign_pdf(pdf, signers.person(unit, day), signing_time=_utc(day, 2, 0))
    if document.plan is SignaturePlan.PERSONAL_ONLY:
        return pdf
    other = unit.parent or PROVINCE_CODE
    organisation = signers.organisation(unit, document.plan, other)
    pdf = sign_pdf(pdf, organisation, signing_time=_utc(day, 3, 30))
    return append_after_signature(pdf) if document.plan is SignaturePlan.TAMPERED else pdf


def _quarter(day: date) -> int:
    return (day.month - 1) // 3 + 1


# Most offices' software writes the VPCP form; a few older ones the unprefixed or e-doc.vn forms.
_EDXML_VARIANTS = ("qcvn", "qcvn", "qcvn", "qcvn-default", "edoc")


def _edxml_package(document: PlannedDocument, names: dict[str, str], pdf: bytes | None, variant: str) -> bytes:
    """A QCVN 102:2016 edXML package for one document, its signed PDF attached."""
    attachments = (Attachment(f"{_slug(document.number + '-' + document.notation)}.signed.pdf", pdf),) if pdf else ()
    day = document.promulgation_date
    return build_edxml(
        sender=document.sender, sender_name=names[document.sender],
        recipients=[(code, names[code]) for code in document.recipients],
        number=document.number, notation=document.notation, promulgation=day,
        type_name=document.type_name, subject=document.subject, due=document.due_date,
        paper=document.paper_copy, document_id=document.document_id, attachments=attachments,
        sent_at=datetime(day.year, day.month, day.day, 10, 0), variant=variant,
    )  # fmt: skip


def _status_package(document: PlannedDocument, recipient: str, handled: date, names: dict[str, str]) -> bytes:
    """A recipient's status 06 (Hoàn thành) for a document."""
    return build_status(
        document_id=document.document_id, reporter=recipient, reporter_name=names[recipient], code="06",
        description="Hoàn thành", timestamp=datetime(handled.year, handled.month, handled.day, 16, 0),
    )  # fmt: skip


_VIETNAMESE_HEADER = ("Mã đơn vị", "Loại sổ", "Số", "Ký hiệu", "Ngày ban hành", "Loại văn bản", "Trích yếu",
                      "Nơi nhận", "Hình thức", "Độ mật")  # fmt: skip
_ENGLISH_HEADER = ("unit_code", "direction", "number", "notation", "date", "type", "subject", "counterpart",
                   "channel", "confidential")  # fmt: skip
_CHANNEL_WORDS = {Channel.ELECTRONIC: "Điện tử", Channel.PAPER: "Giấy", Channel.BOTH: "Cả hai"}


class _RegisterStyle(enum.Enum):
    """How an office's software exports its register."""

    MODERN = "modern"
    """UTF-8, the canonical English headers."""
    VIETNAMESE = "vietnamese"
    """UTF-8 with BOM (Excel), Vietnamese headers."""
    LEGACY = "legacy"
    """An old Windows tool: cp1258, semicolons, Vietnamese headers."""


def _register_export(unit: ProvinceUnit, documents: list[PlannedDocument], style: _RegisterStyle) -> bytes:
    """The unit's outgoing register (sổ văn bản đi) for the batch's quarter, paper documents included."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if style is _RegisterStyle.LEGACY else ",", lineterminator="\r\n")
    writer.writerow(_ENGLISH_HEADER if style is _RegisterStyle.MODERN else _VIETNAMESE_HEADER)
    for document in documents:
        writer.writerow((
            unit.code, "Đi", document.number, document.notation, f"{document.promulgation_date:%d/%m/%Y}",
            document.type_name, document.subject, "; ".join(document.recipients),
            _CHANNEL_WORDS[document.channel], "Có" if document.confidential else "Không",
        ))  # fmt: skip
    if style is _RegisterStyle.LEGACY:
        return encode_cp1258(out.getvalue())
    return out.getvalue().encode("utf-8-sig" if style is _RegisterStyle.VIETNAMESE else "utf-8")


def _batch_files(
    documents: list[PlannedDocument], units: dict[str, ProvinceUnit], signers: _Signers
) -> dict[str, bytes]:
    """What one group's quarterly export holds: edXML packages, status packages, registers."""
    names = {code: unit.name for code, unit in units.items()}
    files: dict[str, bytes] = {}
    by_sender: dict[str, list[PlannedDocument]] = {}
    for document in documents:
        by_sender.setdefault(document.sender, []).append(document)
        slug = _slug(f"{document.sender}-{document.number}")
        # State-secret documents never travel over the axis (QĐ 28/2018): register only.
        if document.plan is not SignaturePlan.PAPER and not document.confidential:
            pdf = _signed_pdf(document, units[document.sender], signers)
            variant = _EDXML_VARIANTS[int(document.number) % len(_EDXML_VARIANTS)]
            files[f"edxml/{slug}.edxml"] = _edxml_package(document, names, pdf, variant)
        for recipient, day in document.handled:
            files[f"status/{slug}-{_slug(recipient)}.edxml"] = _status_package(document, recipient, day, names)
    styles = list(_RegisterStyle)
    for number, (sender, own) in enumerate(sorted(by_sender.items())):
        style = styles[number % len(styles)]
        files[f"so-van-ban-di/{_slug(sender)}.csv"] = _register_export(units[sender], own, style)
    return files


def _write_issued(path: Path, signers: _Signers) -> None:
    """The province's list of certificates issued to units, as ``docflow certs import`` reads it."""
    rows: list[tuple[object, ...]] = [
        (f"{entry.issued.cert.serial_number:x}", entry.unit, entry.holder, entry.kind,
         entry.issued.cert.not_valid_after_utc.date().isoformat(), entry.issued.sha256)
        for entry in signers.issued
    ]  # fmt: skip
    _write_csv(path, ("serial", "unit", "holder", "kind", "not_after", "sha256"), rows)


def _write_batch(path: Path, files: dict[str, bytes]) -> None:
    # Written under a temporary name and renamed, as a clerk's export tool would.
    partial = path.with_name(path.name + ".part")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    partial.rename(path)


def build_province(root: Path, *, scale: float = 1.0, seed: int = 2018, year: int | None = None) -> ProvinceBuild:
    """Write the demo province under ``root``: inbox of batches, trust dir, unit and certificate lists.

    The year defaults to last calendar year, so that every signing time lies in the past
    of whoever verifies it.
    """
    year = year or date.today().year - 1
    units = province_units(seed)
    by_code = {unit.code: unit for unit in units}
    documents = plan_documents(units, year, scale, seed)
    signers = _Signers(units, year, seed)
    inbox = root / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    grouped: dict[tuple[int, str], list[PlannedDocument]] = {}
    for document in documents:
        key = (_quarter(document.promulgation_date), _group_of(by_code[document.sender]))
        grouped.setdefault(key, []).append(document)
    for (quarter, group), members in sorted(grouped.items()):
        files = _batch_files(members, by_code, signers)
        _write_batch(inbox / f"{year}-Q{quarter}-{_slug(group)}.zip", files)
    # After signing: the revoked certificates are made on first use and must reach the CRL.
    trust_dir = write_trust_dir(signers.pki, root / "trust")
    _write_units(root / "units.csv", units)
    _write_issued(root / "issued-certificates.csv", signers)
    return ProvinceBuild(root=root, inbox=inbox, trust_dir=trust_dir, units_file=root / "units.csv",
                         issued_file=root / "issued-certificates.csv", units=len(units), batches=len(grouped),
                         documents=len(documents))  # fmt: skip
