"""``docflow.toml``: where the inbox, database and trust directory are, and the readers' limits.

Every key is optional; an unknown key is an error rather than silently ignored, because a
misspelt limit that quietly falls back to its default is worse than a refusal to start.
Relative paths are relative to the folder holding the toml file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from docflow.batch import Limits
from docflow.register import COLUMN_ALIASES

__all__ = ["Config", "ConfigError", "Tier", "WatchConfig", "SummaryConfig", "load_config", "CONFIG_NAME"]

CONFIG_NAME = "docflow.toml"
_SECTIONS = ("paths", "limits", "register", "watch", "summary", "signatures")
_PATH_KEYS = {"inbox": "inbox", "db": "docflow.db", "trust": "trust"}
_SIGNER_KINDS = ("person", "organisation")


class ConfigError(Exception):
    """docflow.toml is unreadable or holds an unknown key or a wrong value; the message says which."""


@dataclass(frozen=True)
class Tier:
    name: str
    min: float
    """Lowest electronic-issuance rate (0–1) of the tier."""


@dataclass(frozen=True)
class WatchConfig:
    settle_seconds: float = 2.0
    """A dropped file must stay unchanged this long before it is read."""
    poll_interval: float = 1.0


DEFAULT_TIERS = (Tier("Tốt", 0.9), Tier("Khá", 0.7), Tier("Trung bình", 0.5), Tier("Yếu", 0.0))


@dataclass(frozen=True)
class SummaryConfig:
    min_documents: int = 10
    """Units with fewer outgoing documents in the period are not ranked."""
    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    targets: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({"province": 0.9, "district": 0.8, "commune": 0.6}))
    """Electronic-issuance target per level."""


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
    source: Path | None = None
    """The toml file read, or None when defaults were used."""


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
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from error
    return _from_table(table, Path(path).resolve().parent, Path(path))


def _from_table(table: Mapping[str, Any], base: Path, source: Path | None) -> Config:
    _only(table, _SECTIONS, "")
    paths = _section(table, "paths")
    _only(paths, tuple(_PATH_KEYS), "paths")
    resolved = {key: base / _typed(paths.get(key, default), str, f"paths.{key}") for key, default in _PATH_KEYS.items()}
    return Config(
        inbox_path=resolved["inbox"],
        db_path=resolved["db"],
        trust_path=resolved["trust"],
        limits=_limits(_section(table, "limits")),
        register_columns=MappingProxyType(_columns(_section(table, "register"))),
        watch=_watch(_section(table, "watch")),
        summary=_summary(_section(table, "summary")),
        kind_overrides=MappingProxyType(_kind_overrides(_section(table, "signatures"))),
        source=source,
    )


def _section(table: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    return _typed(table.get(name, {}), dict, f"[{name}]")


def _only(table: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        place = f"[{where}]" if where else "the top level"
        raise ConfigError(f"docflow.toml: unknown key(s) {', '.join(unknown)} in {place}; "
                          f"allowed: {', '.join(allowed)}")


def _typed(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    # bool is an int in Python; a limit written as `true` is a mistake, not 1.
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise ConfigError(f"docflow.toml: {where} has the wrong type ({type(value).__name__})")
    return value


def _positive(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    if _typed(value, kind, where) <= 0:
        raise ConfigError(f"docflow.toml: {where} must be greater than 0")
    return value


def _limits(section: Mapping[str, Any]) -> Limits:
    names = tuple(f.name for f in fields(Limits))
    _only(section, names, "limits")
    kinds = {f.name: (int, float) if f.type == "float" else int for f in fields(Limits)}
    values = {name: _positive(value, kinds[name], f"limits.{name}") for name, value in section.items()}
    return Limits(**values)


def _columns(section: Mapping[str, Any]) -> dict[str, str]:
    _only(section, ("columns",), "register")
    columns = _typed(section.get("columns", {}), dict, "[register.columns]")
    _only(columns, tuple(COLUMN_ALIASES), "register.columns")
    return {name: _typed(header, str, f"register.columns.{name}") for name, header in columns.items()}


def _watch(section: Mapping[str, Any]) -> WatchConfig:
    _only(section, ("settle_seconds", "poll_interval"), "watch")
    values = {name: float(_positive(value, (int, float), f"watch.{name}")) for name, value in section.items()}
    return WatchConfig(**values)


def _summary(section: Mapping[str, Any]) -> SummaryConfig:
    _only(section, ("min_documents", "tiers", "targets"), "summary")
    default = SummaryConfig()
    min_documents = _typed(section.get("min_documents", default.min_documents), int, "summary.min_documents")
    tiers = tuple(_tier(entry, index) for index, entry in enumerate(_typed(section.get("tiers", []), list,
                                                                            "summary.tiers")))
    targets = dict(default.targets)
    for level, rate in _typed(section.get("targets", {}), dict, "[summary.targets]").items():
        targets[level] = _rate(rate, f"summary.targets.{level}")
    return SummaryConfig(min_documents, tiers or DEFAULT_TIERS, MappingProxyType(targets))


def _tier(entry: Any, index: int) -> Tier:
    where = f"summary.tiers[{index}]"
    _only(_typed(entry, dict, where), ("name", "min"), where)
    if "name" not in entry or "min" not in entry:
        raise ConfigError(f"docflow.toml: {where} needs both name and min")
    return Tier(_typed(entry["name"], str, f"{where}.name"), _rate(entry["min"], f"{where}.min"))


def _rate(value: Any, where: str) -> float:
    rate = float(_typed(value, (int, float), where))
    if not 0.0 <= rate <= 1.0:
        raise ConfigError(f"docflow.toml: {where} must be a rate between 0 and 1, not {value}")
    return rate


def _kind_overrides(section: Mapping[str, Any]) -> dict[str, str]:
    _only(section, ("kind_overrides",), "signatures")
    overrides = _typed(section.get("kind_overrides", {}), dict, "[signatures.kind_overrides]")
    result: dict[str, str] = {}
    for fingerprint, kind in overrides.items():
        if _typed(kind, str, f"signatures.kind_overrides.{fingerprint}") not in _SIGNER_KINDS:
            raise ConfigError(f"docflow.toml: signatures.kind_overrides.{fingerprint} must be person or organisation")
        result[fingerprint.lower().replace(":", "")] = kind
    return result
