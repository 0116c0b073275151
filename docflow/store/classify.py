"""Pure rules that turn stored facts into counted facts.

- ``reason_word``: why a signature failed, as one word a drill-down can group by;
- ``signature_facts``: a document's signature flags from its signatures;
- ``standing``: for one outgoing document, whether it counts for each rate and, if it fails, the reason words
  (the one rule behind the counters, the drill-down, JSON, CSV and the legend: docs/metrics.md);
- ``incoming_standing``: for one recipient of a document, whether it received it electronically and handled it
  on time (the incoming counters and the export read it);
- ``contribution``: what one document adds to the per-unit, per-month counters;
- ``classify_level``: a unit's level word from its code and name.

Nothing here touches the database, so the counters' meaning can be tested alone and
``Store.recompute_counters`` can prove the incremental counters right.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from docflow.agency import parse_agency_code
from docflow.store.ownership import normalise_name
from docflow.store.schema import COUNTER_COLUMNS, REASON_WORDS
from signatures.verdict import Indication, SubIndication, Verdict

__all__ = [
    "reason_word",
    "reason_word_for",
    "SignatureFact",
    "SignatureFacts",
    "signature_facts",
    "DocState",
    "Rate",
    "RateStanding",
    "Standing",
    "standing",
    "RecipientState",
    "IncomingStanding",
    "incoming_standing",
    "CounterDelta",
    "contribution",
    "classify_level",
]

_WORD_BY_SUBINDICATION: dict[SubIndication, str] = {
    SubIndication.HASH_FAILURE: "tampered",
    SubIndication.SIG_CRYPTO_FAILURE: "tampered",
    SubIndication.NO_CERTIFICATE_CHAIN_FOUND: "untrusted",
    SubIndication.CHAIN_CONSTRAINTS_FAILURE: "untrusted",
    SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE: "untrusted",
    SubIndication.NO_SIGNING_CERTIFICATE_FOUND: "untrusted",
    SubIndication.REVOKED: "revoked",
    SubIndication.REVOKED_NO_POE: "revoked",
    SubIndication.REVOKED_CA_NO_POE: "revoked",
    SubIndication.EXPIRED: "expired",
    SubIndication.NOT_YET_VALID: "expired",
    SubIndication.OUT_OF_BOUNDS_NO_POE: "expired",
    SubIndication.OUT_OF_BOUNDS_NOT_REVOKED: "expired",
    SubIndication.CRYPTO_CONSTRAINTS_FAILURE: "weak",
    SubIndication.CRYPTO_CONSTRAINTS_FAILURE_NO_POE: "weak",
}


def reason_word_for(indication: str, subindication: str | None) -> str | None:
    """The reason word for a stored (indication, subindication) pair; None when it passed."""
    if indication == Indication.TOTAL_PASSED.value:
        return None
    try:
        return _WORD_BY_SUBINDICATION.get(SubIndication(subindication), "other")
    except ValueError:
        return "other"


def reason_word(verdict: Verdict) -> str | None:
    """Why this signature failed, as one of ``REASON_WORDS``; None when it passed."""
    subindication = verdict.subindication.value if verdict.subindication else None
    return reason_word_for(verdict.indication.value, subindication)


@dataclass(frozen=True)
class SignatureFact:
    """What one stored signature contributes to its document's flags."""

    payload_sha256: str
    index: int
    indication: str
    subindication: str | None
    kind: str
    covers_whole_file: bool | None
    belongs_to_sender: bool | None
    modification_permitted: bool | None = None
    """``signatures.modification.permitted`` for what followed it in its PDF; None when not analysed."""


@dataclass(frozen=True)
class SignatureFacts:
    """A document's signature flags, as the documents table stores them."""

    signature_count: int = 0
    has_valid_signature: bool = False
    has_valid_personal: bool = False
    has_valid_organisation: bool = False
    invalid_reasons: str = ""


def signature_facts(signatures: Iterable[SignatureFact]) -> SignatureFacts:
    """Fold a document's signatures into its flags (see docs/schema.md)."""
    facts = list(signatures)
    reasons: set[str] = set()
    for fact in facts:
        word = reason_word_for(fact.indication, fact.subindication)
        if word:
            reasons.add(word)
        elif fact.kind == "organisation" and fact.belongs_to_sender is False:
            reasons.add("wrong_unit")
    # What changed after each PDF signature was judged by the engine's one rule, the rule docflow verify
    # applies; rows stored before that judgement keep the older rule: the last signature must reach the end.
    if any(fact.modification_permitted is False for fact in facts):
        reasons.add("tampered")
    last_by_payload: dict[str, SignatureFact] = {}
    for fact in facts:
        current = last_by_payload.get(fact.payload_sha256)
        if current is None or fact.index > current.index:
            last_by_payload[fact.payload_sha256] = fact
    if any(
        fact.modification_permitted is None and fact.covers_whole_file is False for fact in last_by_payload.values()
    ):
        reasons.add("tampered")
    passed = [fact for fact in facts if fact.indication == Indication.TOTAL_PASSED.value]
    return SignatureFacts(
        signature_count=len(facts),
        has_valid_signature=bool(passed),
        has_valid_personal=any(fact.kind == "person" for fact in passed),
        has_valid_organisation=any(
            fact.kind == "organisation" and fact.belongs_to_sender is not False for fact in passed
        ),
        invalid_reasons=" ".join(word for word in REASON_WORDS if word in reasons),
    )


@dataclass(frozen=True)
class RecipientState:
    unit: str
    received_electronic: bool
    handled_at: str | None
    """ISO timestamp of the first status 06 this recipient reported."""


@dataclass(frozen=True)
class DocState:
    """The columns of a documents row that counting depends on."""

    sender: str | None
    period: str
    confidential: bool
    channel: str
    sent_over_axis: bool
    business_status: str
    due_date: str | None
    signature_count: int
    has_valid_signature: bool
    has_valid_personal: bool
    has_valid_organisation: bool
    invalid_reasons: str

    @property
    def sent_electronically(self) -> bool:
        return self.sent_over_axis or self.channel in ("electronic", "both")


class Rate(str, Enum):
    """The outgoing rates a document is judged for; the value is the rate's JSON name."""

    E_ISSUANCE = "e_issuance_rate"
    SIGNATURE = "signature_rate"
    ND30 = "nd30_rate"


@dataclass(frozen=True)
class RateStanding:
    """One document against one rate: in its denominator or not, and why it is not in its numerator."""

    counted: bool
    reasons: tuple[str, ...] = ()
    """Empty exactly when the document passes; the deciding words first, then its invalid-signature words."""

    @property
    def passed(self) -> bool:
        return self.counted and not self.reasons

    @property
    def failed(self) -> bool:
        return self.counted and bool(self.reasons)


@dataclass(frozen=True)
class Standing:
    """One non-confidential outgoing document against every outgoing rate (docs/metrics.md, "One rule")."""

    e_issuance: RateStanding
    signature: RateStanding
    nd30: RateStanding
    seen_unsigned: bool
    """Seen on the axis without any signature (the ``unsigned`` counter and flag)."""

    def of(self, which: Rate) -> RateStanding:
        return {Rate.E_ISSUANCE: self.e_issuance, Rate.SIGNATURE: self.signature, Rate.ND30: self.nd30}[which]


def _no_signature_word(doc: DocState) -> str:
    # A document never seen on the axis may well be signed: docflow only cannot tell, so it is not "unsigned".
    return "unsigned" if doc.sent_over_axis else "not_sent"


def _issuance_words(doc: DocState, invalid: tuple[str, ...]) -> tuple[str, ...]:
    """Why a document is not issued electronically: NĐ 30 (văn thư signs as the organisation and sends it over
    the system/axis) and QĐ 28 (the electronic document replaces paper), docs/metrics.md."""
    checks = (
        ("paper", doc.channel == "paper"),
        ("paper_copy", doc.channel not in ("electronic", "paper")),  # "both": sent with a paper copy
        ("not_sent", doc.channel != "paper" and not doc.sent_over_axis),
        ("unsigned", doc.sent_over_axis and doc.signature_count == 0),
        ("no_organisation_signature", doc.signature_count > 0 and not doc.has_valid_organisation),
        ("tampered", "tampered" in invalid),
    )
    words = tuple(word for word, raised in checks if raised)
    return words + tuple(word for word in invalid if word not in words) if words else ()


def _signature_words(doc: DocState, invalid: tuple[str, ...], nd30: bool) -> tuple[str, ...]:
    if doc.signature_count == 0:
        return (_no_signature_word(doc),)
    checks: tuple[tuple[str, bool], ...]
    if nd30:
        checks = (
            ("no_personal_signature", not doc.has_valid_personal),
            ("no_organisation_signature", not doc.has_valid_organisation),
        )
    else:
        checks = (("no_valid_signature", not doc.has_valid_signature),)
    words = tuple(word for word, raised in checks if raised)
    return words + invalid if words else ()


def standing(doc: DocState) -> Standing:
    """The one rule: whether ``doc`` counts for each outgoing rate and, when it fails one, the words why.

    The counters are made from this (``contribution``) and the drill-down reads it, so a rate's failing
    documents are exactly its denominator minus its numerator. Confidential, revoked and replaced documents
    are outside every rate (``contribution`` never asks).
    """
    invalid = tuple(doc.invalid_reasons.split())
    electronic = doc.sent_electronically
    return Standing(
        e_issuance=RateStanding(True, _issuance_words(doc, invalid)),
        signature=RateStanding(electronic, _signature_words(doc, invalid, nd30=False) if electronic else ()),
        nd30=RateStanding(electronic, _signature_words(doc, invalid, nd30=True) if electronic else ()),
        seen_unsigned=doc.sent_over_axis and doc.signature_count == 0,
    )


CounterDelta = Counter[str]
"""Counter column name → amount; only names from ``COUNTER_COLUMNS``."""

_UnitPeriod = tuple[str, str]


def contribution(doc: DocState | None, recipients: Iterable[RecipientState]) -> dict[_UnitPeriod, CounterDelta]:
    """What this document adds to each (unit, period) counters row."""
    if doc is None or doc.business_status in ("revoked", "replaced"):
        return {}
    result: dict[_UnitPeriod, CounterDelta] = {}
    if doc.sender:
        result[(doc.sender, doc.period)] = _outgoing(doc)
    for recipient in recipients:
        delta = _incoming(doc, recipient)
        result[(recipient.unit, doc.period)] = result.get((recipient.unit, doc.period), Counter()) + delta
    return result


def _outgoing(doc: DocState) -> CounterDelta:
    if doc.confidential:
        return Counter(outgoing_confidential=1)
    judged = standing(doc)
    delta = Counter(
        outgoing=1,
        outgoing_paper=int(doc.channel == "paper"),
        outgoing_electronic=int(judged.of(Rate.SIGNATURE).counted),
        outgoing_issued_electronic=int(judged.of(Rate.E_ISSUANCE).passed),
        outgoing_signed_valid=int(judged.of(Rate.SIGNATURE).passed),
        outgoing_nd30=int(judged.of(Rate.ND30).passed),
        outgoing_unsigned=int(judged.seen_unsigned),
    )
    for word in doc.invalid_reasons.split():
        delta[f"invalid_{word}"] = 1
    return _positive(delta)


@dataclass(frozen=True)
class IncomingStanding:
    """One non-confidential document for one of its recipients: the incoming rates' rule."""

    electronic: bool
    """Received electronically (the numerator of the incoming electronic rate)."""
    due: bool
    """It has a due date (the on-time rate's denominator)."""
    on_time: bool
    """Handled (status 06) no later than its due date (the on-time rate's numerator)."""


def incoming_standing(doc: DocState, recipient: RecipientState) -> IncomingStanding:
    on_time = bool(doc.due_date and recipient.handled_at and recipient.handled_at[:10] <= doc.due_date)
    return IncomingStanding(recipient.received_electronic, bool(doc.due_date), on_time)


def _incoming(doc: DocState, recipient: RecipientState) -> CounterDelta:
    if doc.confidential:
        return Counter(incoming_confidential=1)
    judged = incoming_standing(doc, recipient)
    return _positive(
        Counter(
            incoming=1,
            incoming_electronic=int(judged.electronic),
            incoming_due=int(judged.due),
            incoming_due_on_time=int(judged.on_time),
        )
    )


def _positive(delta: CounterDelta) -> CounterDelta:
    unknown = set(delta) - set(COUNTER_COLUMNS)
    if unknown:
        raise ValueError(f"not counter columns: {sorted(unknown)}")
    return Counter({name: amount for name, amount in delta.items() if amount})


_DISTRICT_PREFIXES = ("ubnd huyen", "ubnd thi xa", "ubnd thanh pho", "ubnd quan")
_COMMUNE_PREFIXES = ("ubnd xa", "ubnd phuong", "ubnd thi tran", "ubnd dac khu")


def classify_level(code: str, name: str | None, parent_level: str | None, two_tier: bool = False) -> str:
    """province, department, district, commune, other or unknown (see docs/schema.md). ``two_tier``: a unit of
    the structure without districts (from 1 July 2025), whose communes sit directly under the province, so a
    commune's name decides at any depth below it."""
    agency = parse_agency_code(code.strip(), normalise=False)
    depth = agency.deepest_level
    words = normalise_name(name) if name else ""
    if not agency.valid:
        return "unknown"
    if two_tier and depth > 1 and words.startswith(_COMMUNE_PREFIXES):
        return "commune"
    if depth == 1:
        return "province" if str(agency.level1).startswith("H") else "other"
    if depth == 2:
        return "district" if words.startswith(_DISTRICT_PREFIXES) else "department"
    if depth == 3 and (parent_level == "district" or words.startswith(_COMMUNE_PREFIXES)):
        return "commune"
    return "other"
