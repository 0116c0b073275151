"""The language people read docflow in: Vietnamese by default, English on request (issue 18 §5).

Messages are written in English in the code and translated through gettext catalogs
(``docflow/locale/vi/LC_MESSAGES/docflow.po``, compiled to ``.mo`` beside it; see ``docs/architecture.md``,
"Translations"). English is the code's own text, so it needs no catalog. The language comes from
``docflow --lang``, else ``DOCFLOW_LANG``, else Vietnamese: a server's own ``LANG`` is often English and
does not switch it. JSON keys, the store, and log files for machines stay English.

Click's own words ("Usage:", "Options:", its error messages) go through the same catalog: click asks the
global gettext domain, which :func:`set_language` points at it (and sets ``LANGUAGE``, which it reads).
"""

from __future__ import annotations

import gettext as _gettext
import os
from pathlib import Path

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "ENVIRONMENT_VARIABLE",
    "set_language",
    "language",
    "language_from_environment",
    "gettext",
    "ngettext",
    "N_",
    "_",
]

DEFAULT_LANGUAGE = "vi"
LANGUAGES = ("vi", "en")
ENVIRONMENT_VARIABLE = "DOCFLOW_LANG"
DOMAIN = "docflow"
LOCALE_DIR = Path(__file__).with_name("locale")

_current: _gettext.NullTranslations = _gettext.NullTranslations()
_language = "en"


def language_from_environment() -> str:
    """``DOCFLOW_LANG`` when it names a language docflow speaks (``vi``, ``en``, ``vi_VN.UTF-8``…), else Vietnamese."""
    wanted = os.environ.get(ENVIRONMENT_VARIABLE, "").strip().lower()
    for code in LANGUAGES:
        if wanted.startswith(code):
            return code
    return DEFAULT_LANGUAGE


def set_language(code: str) -> None:
    """Speak ``code`` from now on (``vi`` or ``en``); an unknown code is the caller's error (ValueError)."""
    global _current, _language
    if code not in LANGUAGES:
        raise ValueError(f"unknown language {code!r}: docflow speaks {', '.join(LANGUAGES)}")
    if code == "en":
        translations: _gettext.NullTranslations = _gettext.NullTranslations()
    else:
        # A missing catalog (a broken install) falls back to English rather than failing every command.
        translations = _gettext.translation(DOMAIN, LOCALE_DIR, languages=[code], fallback=True)
    _current, _language = translations, code
    # click's own messages ask the global domain (``gettext.gettext``), which picks its language from the
    # environment, ``LANGUAGE`` first: the same catalog answers them, in the language chosen here.
    _gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    _gettext.textdomain(DOMAIN)
    os.environ["LANGUAGE"] = code


def language() -> str:
    return _language


def gettext(message: str) -> str:
    """``message`` (English) in the current language; an empty message stays empty."""
    return _current.gettext(message) if message else message


def ngettext(singular: str, plural: str, count: int) -> str:
    return _current.ngettext(singular, plural, count)


def N_(message: str) -> str:  # noqa: N802 - the name gettext's tools look for
    """Marks a message for the catalog where it is defined; :func:`gettext` translates it where it is shown."""
    return message


_ = gettext

set_language(language_from_environment())
