"""The national roll-up: reading a province's export for ``docflow rollup``, and the summary by province and level.

A province exports ``docflow summary --period P --all --json``: one object per unit with its raw counts. Only
the units whose code names the export's own province are taken (``ProvinceExport``; the rule of
``docs/scale.md``): another province's unit seen here, because it sent or received a document, comes from that
province's export. Rates are recomputed from the summed counts (``metrics.rates_of``), never averaged, and the
tiers use the targets of the structure in force at the period's end, as a province's summary does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from docflow.agency import parse_agency_code
from docflow.i18n import _
from docflow.reports.lineage import last_day
from docflow.reports.metrics import LEVELS, Counters, Period, Rates, SummarySettings, rates_of, tier_of
from docflow.store.database import Database
from docflow.store.national import (
    ExportRow,
    ExportUnit,
    ProvinceExport,
    exports_of,
    national_counters,
    national_unit_counters,
)
from docflow.store.schema import COUNTER_COLUMNS

__all__ = [
    "ExportRefused",
    "read_export",
    "province_codes",
    "ProvinceLevel",
    "NationalSummary",
    "national_summary",
    "NationalUnit",
    "province_units",
    "WHOLE_COUNTRY",
]

WHOLE_COUNTRY = "*"
"""``ProvinceLevel.province`` of a level's total over every province."""

_PLAIN_COUNTERS = tuple(f.name for f in fields(Counters) if not f.name.startswith("invalid_"))


class ExportRefused(ValueError):
    """The file cannot be rolled up as it is; the message says why and what to do. Nothing was written."""


def province_codes(text: str) -> tuple[str, ...]:
    """``--province H55`` or ``H04,H55``: the level-1 codes, upper case, sorted; ExportRefused if one is wrong."""
    codes = tuple(sorted({part.strip().upper() for part in text.split(",") if part.strip()}))
    wrong = [code for code in codes if parse_agency_code(f"000.00.00.{code}").level1 != code]
    if not codes or wrong:
        raise ExportRefused(
            _(
                "--province takes level-1 codes such as H04 or H04,H55 (the last group of an agency code): {text}"
            ).format(text=text)
        )
    return codes


_COUNTER_SOURCES = tuple(
    (True, name.removeprefix("invalid_")) if name.startswith("invalid_") else (False, name) for name in COUNTER_COLUMNS
)
"""Where each counter is in a unit object, in ``Counters`` order: (under ``invalid``, its key)."""


def _where(number: int) -> str:
    return _("unit {number}").format(number=number)


def _counters(item: Mapping[str, object], number: int) -> Counters:
    invalid = item.get("invalid")
    if not isinstance(invalid, dict):
        raise ExportRefused(_("{where}: 'invalid' is missing or not an object").format(where=_where(number)))
    values = [invalid.get(key) if nested else item.get(key) for nested, key in _COUNTER_SOURCES]
    # One pass over the good case (a province's export has tens of thousands of units); the reason on the bad one.
    if not all(type(value) is int and value >= 0 for value in values):
        field = next(name for name, value in zip(COUNTER_COLUMNS, values) if type(value) is not int or value < 0)
        raise ExportRefused(
            _("{where}: '{field}' is missing or not a whole number ≥ 0").format(where=_where(number), field=field)
        )
    return Counters(*values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Read:
    unit: ExportUnit
    on_list: bool
    level1: str | None
    depth: int


def _units(items: object) -> list[_Read]:
    """Each unit of the export, with whether it is on the province's unit list and what its code says."""
    if not isinstance(items, list):
        raise ExportRefused(_("not a province's export: expected the JSON array of 'docflow summary --all --json'"))
    units: list[_Read] = []
    seen: set[str] = set()
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or type(item.get("unit")) is not str or type(item.get("level")) is not str:
            raise ExportRefused(_("{where}: not a unit object with 'unit' and 'level'").format(where=_where(number)))
        code, level = item["unit"], item["level"]
        if level not in LEVELS:
            raise ExportRefused(
                _("{where}: level '{level}' is not one of {levels}").format(
                    where=_where(number), level=level, levels=", ".join(LEVELS)
                )
            )
        if code in seen:
            raise ExportRefused(_("{where}: unit {code} is listed twice").format(where=_where(number), code=code))
        seen.add(code)
        agency = parse_agency_code(code)
        unit = ExportUnit(code, str(item.get("name") or ""), level, _counters(item, number))
        units.append(_Read(unit, item.get("on_list") is True, agency.level1, agency.depth))
    return units


def read_export(path: Path, period: Period, provinces: Sequence[str] | None = None) -> ProvinceExport:
    """The part of ``path`` a national store takes for ``period``; ExportRefused, with the reason, otherwise.

    ``provinces``: the level-1 codes the export owns; by default those of the units on the province's own unit
    list (``on_list``), which after a merger are the codes of every province merged into it.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ExportRefused(_("cannot read the file: {why}").format(why=error.strerror or error)) from error
    try:
        units = _units(json.loads(data.decode("utf-8-sig")))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ExportRefused(
            _("not a JSON export ({why}): make it with 'docflow summary --period P --all --json'").format(why=error)
        ) from None
    owned = tuple(sorted(set(provinces))) if provinces else _listed_provinces(units)
    taken = [read for read in units if read.level1 in owned]
    malformed = sum(1 for read in units if read.level1 is None)
    names = {read.unit.name for read in taken if read.unit.level == "province" and read.depth == 1 and read.unit.name}
    return ProvinceExport(
        ",".join(owned), period.label, path.name, hashlib.sha256(data).hexdigest(),
        tuple(read.unit for read in taken), len(units) - len(taken) - malformed, malformed, ", ".join(sorted(names)),
    )  # fmt: skip


def _listed_provinces(units: Sequence[_Read]) -> tuple[str, ...]:
    found = tuple(sorted({read.level1 for read in units if read.on_list and read.level1}))
    if not found:
        raise ExportRefused(
            _(
                "cannot tell which province this export is from (no unit of it is on a unit list): "
                "give --province with its code, such as H04"
            )
        )
    return found


def _figures(counters: Counters, rates: Rates, target: float, tier: str) -> dict[str, object]:
    """The JSON fields after a row's name: the counts, ``invalid``, the rates, the target and the tier, named as
    in a province's ``docflow summary --json``."""
    return {
        **{name: getattr(counters, name) for name in _PLAIN_COUNTERS},
        "invalid": counters.invalid_by_reason,
        "e_issuance_rate": rates.e_issuance_rate,
        "signature_rate": rates.signature_rate,
        "nd30_rate": rates.nd30_rate,
        "incoming_electronic_rate": rates.incoming_electronic_rate,
        "on_time_rate": rates.on_time_rate,
        "target": target,
        "tier": tier,
    }


@dataclass(frozen=True)
class ProvinceLevel:
    """One province's units of one level (``province`` ``WHOLE_COUNTRY``: every province's) over the period."""

    province: str
    level: str
    units: int
    counters: Counters
    rates: Rates
    target: float
    tier: str

    def to_json(self) -> dict[str, object]:
        head = {"province": self.province, "level": self.level, "units": self.units}
        return {**head, **_figures(self.counters, self.rates, self.target, self.tier)}


@dataclass(frozen=True)
class NationalSummary:
    period: Period
    rows: tuple[ProvinceLevel, ...]
    """Level order; within a level the whole country first, then the provinces worst first."""
    exports: tuple[ExportRow, ...]
    """The provinces' exports the figures come from."""

    @property
    def incomplete(self) -> dict[str, tuple[str, ...]]:
        """Province → the months of the period it has not rolled up, for a province summed from its months
        (a province with an export of the period itself is complete)."""
        months = self.period.months
        held: dict[str, set[str]] = {}
        for export in self.exports:
            held.setdefault(export.province, set()).add(export.period)
        return {
            province: tuple(month for month in months if month not in periods)
            for province, periods in held.items()
            if self.period.label not in periods and not set(months) <= periods
        }


def _rank(rate: float | None, name: str) -> tuple[object, ...]:
    """Worst first: the lowest rate, then those with nothing to rate, then by name."""
    return (rate is None, rate if rate is not None else 0.0, name)


def _worst_first(row: ProvinceLevel) -> tuple[object, ...]:
    return (row.province != WHOLE_COUNTRY, *_rank(row.rates.e_issuance_rate, row.province))


def national_summary(db: Database, period: Period, settings: SummarySettings = SummarySettings()) -> NationalSummary:
    """Every province by level for ``period``: each province's export of the period, or the sum of its monthly
    exports within it (``NationalSummary.incomplete`` names the months missing)."""
    settings = settings.in_force(last_day(period))
    months = period.months if len(period.months) > 1 else ()
    grouped = national_counters(db, period.label, months)
    totals: dict[str, tuple[int, Counters]] = {}
    for (_province, level), (units, counters) in grouped.items():
        before_units, before = totals.get(level, (0, Counters()))
        totals[level] = (before_units + units, before + counters)
    every = {**grouped, **{(WHOLE_COUNTRY, level): value for level, value in totals.items()}}
    rows = [
        ProvinceLevel(province, level, units, counters, rates_of(counters), settings.target(level),
                      tier_of(counters, level, settings))
        for (province, level), (units, counters) in every.items()
    ]  # fmt: skip
    order = {level: index for index, level in enumerate(LEVELS)}
    rows.sort(key=lambda row: (order.get(row.level, len(order)), *_worst_first(row)))
    return NationalSummary(period, tuple(rows), exports_of(db, period.label, months))


@dataclass(frozen=True)
class NationalUnit:
    """One unit of a province, as the national store holds it for the period."""

    code: str
    name: str
    level: str
    counters: Counters
    rates: Rates
    target: float
    tier: str

    def to_json(self) -> dict[str, object]:
        head = {"unit": self.code, "name": self.name, "level": self.level}
        return {**head, **_figures(self.counters, self.rates, self.target, self.tier)}


def province_units(
    db: Database, period: Period, province: str, settings: SummarySettings = SummarySettings()
) -> tuple[NationalUnit, ...]:
    """The units of ``province`` (a level-1 code) for ``period``, by level, worst e-issuance rate first."""
    settings = settings.in_force(last_day(period))
    months = period.months if len(period.months) > 1 else ()
    units = [
        NationalUnit(code, name, level, counters, rates_of(counters), settings.target(level),
                     tier_of(counters, level, settings))
        for code, name, level, counters in national_unit_counters(db, period.label, months, province)
    ]  # fmt: skip
    order = {level: index for index, level in enumerate(LEVELS)}
    return tuple(sorted(units, key=lambda u: (order.get(u.level, len(order)), *_rank(u.rates.e_issuance_rate, u.code))))
