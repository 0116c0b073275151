"""The translation catalog's tools: what docflow says to people, and whether Vietnamese covers it all.

``python -m docflow.cli.catalog update`` collects every message into ``docflow/locale/docflow.pot`` and merges
it into ``docflow/locale/vi/LC_MESSAGES/docflow.po`` (new messages arrive untranslated); a translator fills in
the ``msgstr`` lines; ``python -m docflow.cli.catalog compile`` writes the ``.mo`` docflow reads;
``python -m docflow.cli.catalog check`` lists what has no Vietnamese yet (the test suite fails on any).

The messages are (Babel's extractor for the first): every ``_()``, ``gettext()``, ``ngettext()`` and ``N_()``
call in ``docflow/``; every command's and option's help text, read from the command tree itself (they are
plain strings in the decorators, translated when shown: ``docflow.cli._LazyGroup``); and click's own words
("Usage:", "Options:", its errors), which click asks through the same domain.
"""

from __future__ import annotations

import importlib
import io
import sys
from collections.abc import Iterator
from pathlib import Path

import click

import docflow
from docflow.i18n import DOMAIN, LOCALE_DIR

__all__ = ["messages", "update", "compile_catalog", "untranslated", "stale_mo"]

_KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
_POT = LOCALE_DIR / f"{DOMAIN}.pot"
_PO = LOCALE_DIR / "vi" / "LC_MESSAGES" / f"{DOMAIN}.po"
_MO = _PO.with_suffix(".mo")


def messages(with_click: bool = True) -> Iterator[tuple[str | tuple[str, ...], str]]:
    """(message, where) for every message docflow can show; a plural message is (singular, plural).

    ``with_click=False`` leaves out click's own words: a newer click may bring new ones, which ``update`` then
    collects; they show in English until translated, and must not fail a fresh install's tests."""
    from babel.messages.extract import extract_from_dir

    roots = (
        (Path(docflow.__file__).parent, Path(click.__file__).parent) if with_click else (Path(docflow.__file__).parent,)
    )
    for root in roots:
        for filename, line, message, _comments, _context in extract_from_dir(str(root), keywords=_KEYWORDS):
            yield message, f"{root.name}/{filename}:{line}"
    yield from _help_texts()


def _help_texts() -> Iterator[tuple[str, str]]:
    from docflow.cli import _COMMAND_MODULES, main
    from docflow.cli.translated import help_texts

    yield from help_texts(main, "docflow")
    for name, module in _COMMAND_MODULES.items():
        yield from help_texts(getattr(importlib.import_module(module), name), f"docflow {name}")


def _template() -> object:
    from babel.messages.catalog import Catalog

    catalog = Catalog(project="docflow", version=docflow.__version__, charset="utf-8")
    for message, where in messages():
        if message:
            catalog.add(message, locations=[(where, 0)] if ":" not in where else [_location(where)])
    return catalog


def _location(where: str) -> tuple[str, int]:
    filename, _, line = where.rpartition(":")
    return filename, int(line)


def update() -> None:
    """Write the template and merge it into the Vietnamese catalog (translations kept, new ones empty)."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    template = _template()
    assert isinstance(template, Catalog)
    _POT.parent.mkdir(parents=True, exist_ok=True)
    with _POT.open("wb") as out:
        write_po(out, template, omit_header=False, sort_output=True, width=120)
    if _PO.exists():
        with _PO.open("rb") as source:
            catalog = read_po(source, locale="vi")
    else:
        catalog = Catalog(locale="vi", project="docflow", charset="utf-8")
    catalog.update(template, no_fuzzy_matching=True)
    _PO.parent.mkdir(parents=True, exist_ok=True)
    with _PO.open("wb") as out:
        write_po(out, catalog, sort_output=True, width=120, ignore_obsolete=True)


def _compiled() -> bytes:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with _PO.open("rb") as source:
        catalog = read_po(source, locale="vi")
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def compile_catalog() -> None:
    _MO.write_bytes(_compiled())


def stale_mo() -> bool:
    """The ``.mo`` docflow reads is not the ``.po`` as it stands (run ``compile``)."""
    return not _MO.exists() or _MO.read_bytes() != _compiled()


def untranslated(with_click: bool = True) -> list[str]:
    """Every message docflow can show that has no Vietnamese in the catalog."""
    from babel.messages.pofile import read_po

    with _PO.open("rb") as source:
        catalog = read_po(source, locale="vi")
    missing = []
    for message, where in messages(with_click):
        key = message[0] if isinstance(message, tuple) else message
        entry = catalog.get(key)
        translated = entry.string if entry is not None else None
        done = all(translated) if isinstance(translated, tuple | list) else bool(translated)
        if key and (entry is None or entry.fuzzy or not done):
            missing.append(f"{where}: {key!r}")
    return sorted(set(missing))


def _main(argv: list[str]) -> int:
    action = argv[0] if argv else "check"
    if action == "update":
        update()
    elif action == "compile":
        compile_catalog()
    elif action == "check":
        missing = untranslated()
        print("\n".join(missing) or "every message has Vietnamese")
        return 1 if missing or stale_mo() else 0
    else:
        print("usage: python -m docflow.cli.catalog [update|compile|check]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
