"""Words for signatures shared by ``verify``, ``certs`` and ``audit``: a signer's kind, where a signing time came
from, what changed after a signature, yes and no.

The stored and JSON values stay the engine's English words (``organisation``, ``timestamp``…); these are what
people read, English messages translated when shown (``docflow.i18n``). Unknown values are shown as they are.
"""

from __future__ import annotations

from docflow.i18n import N_, _
from signatures.verdict import Modification

__all__ = ["kind_word", "time_source_word", "change_word", "yes_no"]

_KINDS = {"organisation": N_("organisation"), "person": N_("person"), "unknown": N_("unknown")}
_TIME_SOURCES = {"timestamp": N_("timestamp"), "signed_attribute": N_("signed attribute"), "none": N_("none")}
_CHANGES = {
    Modification.NONE: N_("nothing"),
    Modification.LTV: N_("validation data only"),
    Modification.FORM_FILLING: N_("form filling or signing"),
    Modification.ANNOTATIONS: N_("comments or annotations"),
    Modification.OTHER: N_("pages, content or other parts"),
}


def kind_word(kind: str | None) -> str:
    """A signer's or certificate's kind (``organisation``, ``person``) in words: "tổ chức", "cá nhân"."""
    return _(_KINDS[kind]) if kind in _KINDS else (kind or "")


def time_source_word(source: str) -> str:
    return _(_TIME_SOURCES[source]) if source in _TIME_SOURCES else source


def change_word(modification: Modification) -> str:
    """What changed after a signature (``signatures.modification.describe``, for people)."""
    return _(_CHANGES[modification])


def yes_no(value: bool | None) -> str:
    return "" if value is None else _("yes") if value else _("no")
