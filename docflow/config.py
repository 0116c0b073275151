"""``docflow.toml``: where the inbox, database and trust directory are, and the readers' limits.

Every key is optional; an unknown key is an error rather than silently ignored, because a
misspelt limit that quietly falls back to its default is worse than a refusal to start.
Relative paths are relative to the folder holding the toml file.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, tzinfo
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

import click

from docflow.i18n import _
from docflow.readers.limits import Limits
from docflow.readers.register import COLUMN_ALIASES
from docflow.readers.text import parse_document_date
from docflow.reports.metrics import LEVELS, TWO_TIER_STRUCTURE
from docflow.safe_text import for_terminal
from docflow.store.location import is_server_url
from docflow.times import DEFAULT_TIMEZONE, people_zone

__all__ = [
    "Config",
    "ConfigError",
    "ConfigRefused",
    "WatchConfig",
    "SummaryConfig",
    "DisplayConfig",
    "load_config",
    "CONFIG_NAME",
    "PATH_DEFAULTS",
    "SECTIONS",
]

CONFIG_NAME = "docflow.toml"
SECTIONS = ("paths", "store", "limits", "register", "watch", "summary", "signatures", "display")
"""The sections docflow.toml may hold, in the order the example and the docs give them."""
PATH_DEFAULTS: Mapping[str, str] = MappingProxyType({"inbox": "inbox", "db": "docflow.db", "trust": "trust"})
"""``[paths]`` key → its default, relative to the toml file's folder (the working directory without one)."""
_SIGNER_KINDS = ("person", "organisation")
_MAX_WHOLE = 2**63 - 1


class ConfigError(Exception):
    """docflow.toml is unreadable or holds an unknown key or a wrong value; the message says which key,
    the value and what is allowed."""


class ConfigRefused(click.ClickException):
    """A command refusing to start on a bad docflow.toml: one line, exit 2 (as for a wrong option)."""

    exit_code = 2


@dataclass(frozen=True)
class WatchConfig:
    settle_seconds: float = 2.0
    """A dropped file must stay unchanged this long before it is read."""
    poll_interval: float = 1.0
    grace_seconds: float = 60.0
    """A file that reads as cut short (a zip without its central directory, XML stopping mid-element)
    must stay unchanged this long before it is judged."""
    rescan_seconds: float = 60.0
    """The whole inbox is listed again this often, whatever the events said."""
    observer: str = "auto"
    """``auto`` (polling on network file systems), ``native`` or ``polling``."""
    log_file: Path | None = None
    """One JSON line per filed batch, for a log shipper; None: none written."""


@dataclass(frozen=True)
class SummaryConfig:
    min_documents: int = 10
    """Units with fewer outgoing documents in the period are not ranked."""
    targets: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({"province": 0.9, "district": 0.8, "commune": 0.6})
    )
    """Electronic-issuance target per level."""
    structures: tuple[tuple[str, Mapping[str, float]], ...] = tuple(
        (start, MappingProxyType(dict(targets))) for start, targets in TWO_TIER_STRUCTURE
    )
    """(first day yyyy-mm-dd, targets of the levels it changes) per later structure (``[[summary.structures]]``)."""


@dataclass(frozen=True)
class DisplayConfig:
    timezone: str = DEFAULT_TIMEZONE
    """The IANA zone times are shown to people in (dd/mm/yyyy HH:MM:SS); JSON and the store keep the offset."""

    @property
    def zone(self) -> tzinfo:
        return people_zone(self.timezone)


@dataclass(frozen=True)
class Config:
    inbox_path: Path
    db_path: Path
    trust_path: Path
    limits: Limits = Limits()
    register_columns: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Canonical register column → the header a province's export uses for it."""
    watch: WatchConfig = WatchConfig()
    summary: SummaryConfig = field(default_factory=SummaryConfig)
    kind_overrides: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Signer certificate SHA-256 (hex, lower case) → ``person`` or ``organisation``."""
    display: DisplayConfig = DisplayConfig()
    store_url: str | None = None
    """``[store] url``: a PostgreSQL store (``postgresql://…``) every command uses without --db."""
    store_payloads: Path | None = None
    """``[store] payloads``: where a PostgreSQL store's signed files are kept (an SQLite store keeps them beside its
    file); None: ``<database>.payloads`` beside ``[paths] db``."""
    source: Path | None = None
    """The toml file read, or None when defaults were used."""
    given: frozenset[str] = frozenset()
    """The dotted keys the file sets (``paths.db``, ``summary.targets``, ``summary.targets.district``…), so
    that ``docflow config`` can say where each setting came from."""


def load_config(path: Path | None = None) -> Config:
    """Read ``path``, or ``docflow.toml`` in the working directory when present, else defaults."""
    if path is None:
        candidate = Path.cwd() / CONFIG_NAME
        if not candidate.is_file():
            return _from_table({}, Path.cwd(), None)
        path = candidate
    try:
        with open(path, "rb") as stream:
            table = tomllib.load(stream)
    except OSError as error:
        raise ConfigError(_("cannot read {path}: {why}").format(path=path, why=error.strerror or error)) from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(_("{path} is not valid TOML: {error}").format(path=path, error=error)) from error
    try:
        return _from_table(table, Path(path).resolve().parent, Path(path))
    except ConfigError as error:
        if Path(path).name == CONFIG_NAME:
            raise
        # A file given by --config is named as given: "docflow.toml" would send the reader to the wrong file.
        raise ConfigError(str(error).replace(f"{CONFIG_NAME}:", f"{for_terminal(str(path))}:", 1)) from None


def _from_table(table: Mapping[str, Any], base: Path, source: Path | None) -> Config:
    _only(table, SECTIONS, "")
    paths = _section(table, "paths")
    _only(paths, tuple(PATH_DEFAULTS), "paths")
    resolved = {key: base / _path(paths.get(key, default), f"paths.{key}") for key, default in PATH_DEFAULTS.items()}
    return Config(
        inbox_path=resolved["inbox"],
        db_path=resolved["db"],
        trust_path=resolved["trust"],
        limits=_limits(_section(table, "limits")),
        register_columns=MappingProxyType(_columns(_section(table, "register"))),
        watch=_watch(_section(table, "watch"), base),
        summary=_summary(_section(table, "summary")),
        kind_overrides=MappingProxyType(_kind_overrides(_section(table, "signatures"))),
        display=_display(_section(table, "display")),
        store_url=_store_url(_section(table, "store")),
        store_payloads=_store_payloads(_section(table, "store"), base),
        source=source,
        given=frozenset(_dotted(table)),
    )


def _dotted(table: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in table.items():
        yield prefix + key
        if isinstance(value, dict):
            yield from _dotted(value, f"{prefix}{key}.")


def _shown(value: Any) -> str:
    """A value as the toml file spells it, short and safe to print."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, dict):
        text = _("a table")
    elif isinstance(value, list):
        text = _("a list")
    else:
        text = repr(value)
    return for_terminal(text if len(text) <= 60 else text[:57] + "...")


def _refuse(where: str, value: Any, problem: str, allowed: str) -> ConfigError:
    # The file's name stays outside the message: load_config puts a --config file's name in its place.
    shown = _("{where} = {value} {problem}; allowed: {allowed}").format(
        where=where, value=_shown(value), problem=problem, allowed=allowed
    )
    return ConfigError(f"{CONFIG_NAME}: {shown}")


def _section(table: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    return cast(Mapping[str, Any], _typed(table.get(name, {}), dict, f"[{name}]", _("a table")))


def _only(table: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        place = f"[{where}]" if where else _("the top level")
        shown = _("unknown key(s) {keys} in {place}; allowed: {allowed}").format(
            keys=for_terminal(", ".join(unknown)), place=place, allowed=", ".join(allowed)
        )
        raise ConfigError(f"{CONFIG_NAME}: {shown}")


def _typed(value: Any, kind: type | tuple[type, ...], where: str, allowed: str) -> Any:
    # bool is an int in Python; a limit written as `true` is a mistake, not 1.
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise _refuse(where, value, _("has the wrong type ({type})").format(type=type(value).__name__), allowed)
    return value


def _whole(value: Any, where: str, low: int, high: int = _MAX_WHOLE) -> int:
    allowed = _("a whole number from {low} to {high}").format(low=low, high=high)
    number = _typed(value, int, where, allowed)
    if number < low:
        too_small = _("must be greater than 0") if low == 1 else _("must be at least {low}").format(low=low)
        raise _refuse(where, value, too_small, allowed)
    if number > high:
        raise _refuse(where, value, _("is too large"), allowed)
    return int(number)


def _seconds_or_ratio(value: Any, where: str, high: float) -> float:
    """A finite number greater than 0: NaN compares false with every bound, so it must be named."""
    allowed = _("a finite number greater than 0, at most {high:g}").format(high=high)
    number = float(_typed(value, (int, float), where, allowed))
    if not math.isfinite(number):
        raise _refuse(where, value, _("is not a finite number"), allowed)
    if not 0 < number <= high:
        raise _refuse(where, value, _("must be greater than 0") if number <= 0 else _("is too large"), allowed)
    return number


def _text(value: Any, where: str, allowed: str) -> str:
    """``allowed``: what the value may be, in words ("a non-empty path")."""
    text = _typed(value, str, where, allowed)
    if not text.strip() or "\0" in text:
        raise _refuse(where, value, _("is empty or holds a NUL character"), allowed)
    return cast(str, text)


def _path(value: Any, where: str) -> str:
    return _text(value, where, _("a non-empty path"))


# The ranges a limit may take: beyond them a limit no longer protects anything (a zip depth of 1,000
# overflows the reader's stack; a ratio of NaN turns the zip-bomb check off).
_LIMIT_RANGES: dict[str, tuple[int, int]] = {"max_zip_depth": (1, 10)}
_MAX_RATIO = 1e6


def _limits(section: Mapping[str, Any]) -> Limits:
    names = tuple(f.name for f in fields(Limits))
    _only(section, names, "limits")
    values: dict[str, Any] = {}
    for spec in fields(Limits):
        if spec.name not in section:
            continue
        where = f"limits.{spec.name}"
        if spec.type == "float":
            values[spec.name] = _seconds_or_ratio(section[spec.name], where, _MAX_RATIO)
        else:
            values[spec.name] = _whole(section[spec.name], where, *_LIMIT_RANGES.get(spec.name, (1, _MAX_WHOLE)))
    return Limits(**values)


def _columns(section: Mapping[str, Any]) -> dict[str, str]:
    _only(section, ("columns",), "register")
    columns = _typed(section.get("columns", {}), dict, "[register.columns]", _("a table"))
    _only(columns, tuple(COLUMN_ALIASES), "register.columns")
    return {
        name: _text(header, f"register.columns.{name}", _("a non-empty column header"))
        for name, header in columns.items()
    }


_MAX_SECONDS = 86_400.0
"""A day: a longer settle time or poll interval is a typo, and time.sleep overflows on 1e300."""


_OBSERVERS = ("auto", "native", "polling")
_WATCH_SECONDS = ("settle_seconds", "poll_interval", "grace_seconds", "rescan_seconds")


def _watch(section: Mapping[str, Any], base: Path) -> WatchConfig:
    _only(section, (*_WATCH_SECONDS, "observer", "log_file"), "watch")
    values: dict[str, Any] = {
        name: _seconds_or_ratio(value, f"watch.{name}", _MAX_SECONDS)
        for name, value in section.items()
        if name in _WATCH_SECONDS
    }
    if "observer" in section:
        observer = _typed(section["observer"], str, "watch.observer", ", ".join(_OBSERVERS))
        if observer not in _OBSERVERS:
            raise _refuse("watch.observer", observer, _("is not an observer"), ", ".join(_OBSERVERS))
        values["observer"] = observer
    if "log_file" in section:
        values["log_file"] = base / _path(section["log_file"], "watch.log_file")
    return WatchConfig(**values)


def _summary(section: Mapping[str, Any]) -> SummaryConfig:
    if "tiers" in section:
        # Read by earlier versions but never used: a unit meets its level's target or does not.
        shown = _(
            "summary.tiers is not used: a unit meets its level's target or not; "
            "remove tiers and set the targets in [summary.targets]"
        )
        raise ConfigError(f"{CONFIG_NAME}: {shown}")
    _only(section, ("min_documents", "targets", "structures"), "summary")
    default = SummaryConfig()
    min_documents = _whole(section.get("min_documents", default.min_documents), "summary.min_documents", 0)
    targets = dict(default.targets)
    targets.update(_targets(section.get("targets", {}), "summary.targets"))
    structures = default.structures
    if "structures" in section:
        tables = _typed(section["structures"], list, "[[summary.structures]]", _("a list of tables"))
        structures = tuple(_structure(table, number) for number, table in enumerate(tables, start=1))
    return SummaryConfig(min_documents, MappingProxyType(targets), structures)


def _targets(value: Any, where: str) -> dict[str, float]:
    targets: dict[str, float] = {}
    for level, rate in _typed(value, dict, f"[{where}]", _("a table")).items():
        if level not in LEVELS:
            raise _refuse(where, level, _("is not a level"), ", ".join(LEVELS))
        targets[level] = _rate(rate, f"{where}.{level}")
    return targets


def _structure(table: Any, number: int) -> tuple[str, Mapping[str, float]]:
    """One ``[[summary.structures]]`` entry: ``from`` (a date) and ``targets`` (the levels it sets)."""
    where = f"summary.structures[{number}]"
    entry = _typed(table, dict, f"[[{where}]]", _("a table"))
    _only(entry, ("from", "targets"), where)
    start = entry.get("from")
    if isinstance(start, datetime):
        start = start.date()
    day = start if isinstance(start, date) else parse_document_date(start) if isinstance(start, str) else None
    if day is None:
        raise _refuse(f"{where}.from", start, _("is not a date"), "2025-07-01")
    return day.isoformat(), MappingProxyType(_targets(entry.get("targets", {}), f"{where}.targets"))


def _rate(value: Any, where: str) -> float:
    allowed = _("a rate between 0 and 1")
    rate = float(_typed(value, (int, float), where, allowed))
    if not 0.0 <= rate <= 1.0:  # false for NaN too
        raise _refuse(where, value, _("is out of range"), allowed)
    return rate


_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")


def _kind_overrides(section: Mapping[str, Any]) -> dict[str, str]:
    _only(section, ("kind_overrides",), "signatures")
    overrides = _typed(section.get("kind_overrides", {}), dict, "[signatures.kind_overrides]", _("a table"))
    result: dict[str, str] = {}
    for fingerprint, kind in overrides.items():
        where = f"signatures.kind_overrides.{for_terminal(fingerprint)}"
        if _typed(kind, str, where, _("person or organisation")) not in _SIGNER_KINDS:
            raise _refuse(where, kind, _("is not a signer kind"), _("person or organisation"))
        normalised = fingerprint.lower().replace(":", "")
        # A key that is not a SHA-256 would never match a certificate: the override would silently do nothing.
        if not _FINGERPRINT.match(normalised):
            raise _refuse(
                "signatures.kind_overrides",
                fingerprint,
                _("is not a certificate's SHA-256"),
                _("64 hexadecimal digits (colons allowed)"),
            )
        result[normalised] = kind
    return result


def _display(section: Mapping[str, Any]) -> DisplayConfig:
    _only(section, ("timezone",), "display")
    if "timezone" not in section:
        return DisplayConfig()
    name = _text(section["timezone"], "display.timezone", _("a non-empty time zone name"))
    try:
        people_zone(name)
    except ValueError:
        raise _refuse(
            "display.timezone",
            name,
            _("is not a time zone docflow knows"),
            _('an IANA name such as "{zone}"').format(zone=DEFAULT_TIMEZONE),
        ) from None
    return DisplayConfig(name)


def _store_payloads(section: Mapping[str, Any], base: Path) -> Path | None:
    return base / _path(section["payloads"], "store.payloads") if "payloads" in section else None


def _store_url(section: Mapping[str, Any]) -> str | None:
    _only(section, ("url", "payloads"), "store")
    if "url" not in section:
        return None
    url = _text(section["url"], "store.url", _("a postgresql:// URL"))
    if not is_server_url(url):
        raise _refuse("store.url", url, _("is not a PostgreSQL URL"), _('"postgresql://user@host/database"'))
    return url
