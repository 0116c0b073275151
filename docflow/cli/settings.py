"""Every setting of ``docflow.toml``, as ``docflow config`` lists it and ``docflow config --example`` writes it.

The keys and their defaults are ``docflow.config``'s own definitions (its dataclasses, ``PATH_DEFAULTS``,
``SECTIONS``): a key added there appears here by itself, with its default. This module adds one thing per
key, the one-line comment, and a test fails for a key without one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from enum import Enum
from pathlib import Path

from docflow.config import PATH_DEFAULTS, Config, WatchConfig
from docflow.i18n import N_, _
from docflow.readers.limits import Limits

__all__ = ["Source", "Setting", "COMMENTS", "TABLE_KEYS", "default_config", "settings_of", "example_toml"]


class Source(Enum):
    DEFAULT = "default"
    FILE = "file"
    OPTION = "option"


@dataclass(frozen=True)
class Setting:
    key: str
    """Dotted, as in the toml file: ``paths.db``, ``summary.targets.district``."""
    value: object
    source: Source
    origin: str | None = None
    """The file's path (FILE) or the option's name (OPTION)."""

    def to_json(self) -> dict[str, object]:
        shown = {"key": self.key, "value": _plain(self.value), "source": self.source.value}
        if self.source is Source.FILE:
            shown["file"] = self.origin
        elif self.source is Source.OPTION:
            shown["option"] = self.origin
        return shown


COMMENTS: Mapping[str, str] = {
    "paths.inbox": N_("The folder clerks drop batches into (docflow watch)."),
    "paths.db": N_("The store file every command reads and ingest and watch write."),
    "paths.trust": N_("The trust directory: root and intermediate certificates and CRLs."),
    "store.url": N_(
        "A PostgreSQL store (postgresql://user@host/database) every command uses instead of [paths] db; default: none."
    ),
    "store.payloads": N_(
        "Where a PostgreSQL store keeps the signed files it judged, to judge them again (a folder every watcher and "
        "docflow reverify can reach); default: <database>.payloads beside [paths] db."
    ),
    "limits.max_batch_bytes": N_("Bytes of one batch file (or of a folder's files together) on disk."),
    "limits.max_member_bytes": N_("Bytes of one file inside a batch, unpacked; also of a decoded edXML attachment."),
    "limits.max_total_uncompressed_bytes": N_("Bytes one batch unpacks to, nested zips included."),
    "limits.max_compression_ratio": N_("Unpacked size / packed size of one zip member (a zip bomb is refused)."),
    "limits.max_members": N_("Files in one zip."),
    "limits.max_zip_depth": N_("Zips inside zips: 2 lets a batch zip hold zips (1 to 10)."),
    "limits.max_field_chars": N_("Characters in one text field of a register row or an edXML element."),
    "limits.max_xml_bytes": N_("Bytes of one edXML file; it is read in memory, attachments included."),
    "limits.ratio_checked_above_bytes": N_("Zip members smaller than this are not held to max_compression_ratio."),
    "register.columns": N_('A province\'s own register headers: column = "its header" (docs/batch-format.md).'),
    "watch.settle_seconds": N_("Seconds a dropped file must stay unchanged before it is read."),
    "watch.poll_interval": N_("Seconds between two looks at the inbox when polling."),
    "watch.grace_seconds": N_("Seconds a file that reads as cut short must stay unchanged before it is judged."),
    "watch.rescan_seconds": N_("Seconds between two listings of the whole inbox, whatever the events said."),
    "watch.observer": N_('"auto" (polling on network file systems), "native" or "polling".'),
    "watch.log_file": N_("One JSON line per filed batch, for a log shipper (default: none)."),
    "summary.min_documents": N_("Units with fewer outgoing documents in the period are not ranked."),
    "summary.targets": N_("Share of documents to issue electronically, per level (0 to 1)."),
    "summary.structures": N_(
        "From each date, the targets of the levels the new structure changes (default: the two-tier structure "
        "from 2025-07-01, keeping the targets above)."
    ),
    "signatures.kind_overrides": N_(
        'Signer certificate SHA-256 = "person" or "organisation", where its fields mislead.'
    ),
    "display.timezone": N_("The time zone (IANA name) times are shown to people in."),
}
"""Key → its one-line comment (``summary.targets`` speaks for each level under it)."""

TABLE_KEYS = ("register.columns", "signatures.kind_overrides")
"""Keys that are tables of the user's own entries, empty by default: a section of their own in the example."""

_SAMPLES = {
    "register.columns": ('number = "Số VB"', 'unit_code = "Mã đơn vị"'),
    "signatures.kind_overrides": (f'"{"0" * 64}" = "organisation"',),
    "watch.log_file": ('log_file = "watch-log.jsonl"',),
    "store.url": ('url = "postgresql://docflow@localhost/province"',),
    "store.payloads": ('payloads = "/srv/docflow/payloads"',),
    "summary.structures": ("[[summary.structures]]", "from = 2025-07-01", "targets = { commune = 0.8 }"),
}
"""Commented-out lines showing how to set a key that has no value by default."""


def default_config() -> Config:
    """The configuration without any file, paths left relative (as the example writes them)."""
    return Config(
        inbox_path=Path(PATH_DEFAULTS["inbox"]),
        db_path=Path(PATH_DEFAULTS["db"]),
        trust_path=Path(PATH_DEFAULTS["trust"]),
    )


def _values(config: Config) -> Iterator[tuple[str, object]]:
    yield from (
        ("paths.inbox", config.inbox_path),
        ("paths.db", config.db_path),
        ("paths.trust", config.trust_path),
    )
    yield "store.url", config.store_url
    yield "store.payloads", config.store_payloads
    yield from ((f"limits.{spec.name}", getattr(config.limits, spec.name)) for spec in fields(Limits))
    yield "register.columns", dict(config.register_columns)
    yield from ((f"watch.{spec.name}", getattr(config.watch, spec.name)) for spec in fields(WatchConfig))
    yield "summary.min_documents", config.summary.min_documents
    yield from ((f"summary.targets.{level}", rate) for level, rate in config.summary.targets.items())
    structures = [{"from": start, "targets": dict(targets)} for start, targets in config.summary.structures]
    yield "summary.structures", structures
    yield "signatures.kind_overrides", dict(config.kind_overrides)
    yield "display.timezone", config.display.timezone


def settings_of(config: Config, options: Mapping[str, tuple[str, object]] | None = None) -> tuple[Setting, ...]:
    """Each setting of ``config`` with where it came from; ``options``: key → (option name, value) given on
    the command line, which win over the file."""
    given = options or {}
    found = []
    for key, value in _values(config):
        if key in given:
            name, chosen = given[key]
            found.append(Setting(key, chosen, Source.OPTION, name))
        elif key in config.given and config.source is not None:
            found.append(Setting(key, value, Source.FILE, str(config.source.absolute())))
        else:
            found.append(Setting(key, value, Source.DEFAULT))
    return tuple(found)


def comment_for(key: str) -> str:
    return _(COMMENTS.get(key) or COMMENTS[key.rpartition(".")[0]])


def _plain(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:_}" if value >= 10_000 else str(value)
    if isinstance(value, float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string, escapes and all


def example_toml() -> str:
    """A ``docflow.toml`` with every key at its default, each under a comment; loads back as the defaults."""
    lines = [
        "# " + _("docflow.toml: every setting docflow reads, each at its default."),
        "# " + _("Relative paths are relative to this file's folder. Keep only what you change."),
    ]
    section = ""
    for setting in settings_of(default_config()):
        key, value = setting.key, setting.value
        here, _dot, name = key.rpartition(".")
        if key == "summary.structures":
            # An array of tables, after [summary.targets]: shown commented, the built-in list being the default.
            lines += ["", "# " + comment_for(key), *(f"# {line}" for line in _SAMPLES[key])]
            continue
        if key in TABLE_KEYS:
            lines += ["", f"[{key}]", "# " + comment_for(key), *(f"# {line}" for line in _SAMPLES[key])]
            section = key
            continue
        if here != section:
            lines += ["", f"[{here}]"]
            if here == "summary.targets":
                lines.append("# " + comment_for(key))
            section = here
        if here != "summary.targets":
            lines.append("# " + comment_for(key))
        if value is None:
            lines += [f"# {line}" for line in _SAMPLES[key]]
        else:
            lines.append(f"{name} = {_toml(value)}")
    return "\n".join(lines) + "\n"
