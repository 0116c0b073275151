"""Re-verification: stored signatures judged again against the current trust store, their new verdicts written.

The signed files come back from where ingestion kept them (``docflow.store.payloads``), each verified once for
all its signatures, by the same ``Verifier`` (and so the same workers) as ingestion. Each document's rows are
rewritten in one transaction with its counters (``Store.rejudge``), and a document's signed files are never
split across transactions: killed at any moment, every signature holds either its old verdict or its new one,
and the counters match. A rerun takes only what is not judged under the current state yet, so it finishes the
job. A signed file that cannot be read back, or verified again, leaves its signatures' verdicts as they were and
is reported with the reason, never skipped in silence.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import groupby

from docflow.ingest.reverify_plan import Job, ReverifyPlan, ReverifyScope, group_of, plan_reverify
from docflow.ingest.verifier import Verifier, VerifyFailed
from docflow.records import SignedPayload
from docflow.store.core import Store, judgement_now
from docflow.store.payloads import Unavailable
from docflow.store.signature_rows import StoredSignature
from signatures import SignerKind, TrustStore, Verdict

__all__ = [
    "ReverifyListener",
    "ReverifyPlan",
    "ReverifyProgress",
    "ReverifyResult",
    "ReverifyScope",
    "UnavailableSignature",
    "VerdictChange",
    "VerdictState",
    "plan_reverify",
    "reverify",
    "reverify_part",
]

ReverifyProgress = Callable[[int, int], None]
"""Called with (signatures taken, signatures done so far)."""


@dataclass(frozen=True)
class VerdictState:
    indication: str
    subindication: str | None

    def to_json(self) -> dict[str, str | None]:
        return {"indication": self.indication, "subindication": self.subindication}


@dataclass(frozen=True)
class VerdictChange:
    """A signature whose indication or subindication changed; ``reason``: the new verdict's."""

    document_id: str | None
    index: int
    payload_sha256: str
    before: VerdictState
    after: VerdictState
    reason: str | None


@dataclass(frozen=True)
class UnavailableSignature:
    """A signature that could not be judged again; its verdict is unchanged. ``reason`` says why and what to do."""

    document_id: str | None
    index: int
    payload_sha256: str
    reason: str


@dataclass(frozen=True)
class ReverifyResult:
    checked: int
    """Signatures taken: ``changed + unchanged + unavailable``."""
    changed: int
    unchanged: int
    unavailable: int
    changes: tuple[VerdictChange, ...] = ()
    unavailable_signatures: tuple[UnavailableSignature, ...] = ()


ReverifyListener = Callable[[VerdictChange | UnavailableSignature], None]
"""Given to ``reverify``: hears each change and each signature not verified again as it is written, and the
result keeps only the counts (a run that changes a whole archive's verdicts would otherwise hold them all)."""

_PAYLOADS_PER_COMMIT = 300
"""Signed files judged between two commits (whole documents only): bounds the write-ahead log and how long
another writer (the watcher) waits for the lock."""

_NO_STORE_FILE = (
    "this store has no file, so no signed files are kept beside it; its verdict stays as it was: "
    "ingest the batch into a store on disk to be able to verify it again"
)
_NOT_KEPT = (
    "docflow kept no copy of this signed file (stored before docflow kept signed files); its verdict stays "
    "as it was: `docflow verify` the original file to judge it now"
)


def reverify(
    store: Store,
    trust: TrustStore,
    scope: ReverifyScope = ReverifyScope(),
    *,
    kinds: Mapping[str, SignerKind] | None = None,
    workers: int = 1,
    progress: ReverifyProgress | None = None,
    payloads_per_commit: int = _PAYLOADS_PER_COMMIT,
    listener: ReverifyListener | None = None,
) -> ReverifyResult:
    """Judge the stored signatures in ``scope`` again against ``trust`` and write the new verdicts.

    ``kinds``: signer certificate SHA-256 → person/organisation, as ingestion takes it from docflow.toml.
    Raises StoreBusy/StoreReplaced as any writer; what was committed before stays (each document whole).
    """
    plan = plan_reverify(store, trust, scope)
    return reverify_part(
        store,
        trust,
        plan,
        kinds=kinds,
        workers=workers,
        progress=progress,
        payloads_per_commit=payloads_per_commit,
        listener=listener,
    )


def reverify_part(
    store: Store,
    trust: TrustStore,
    plan: ReverifyPlan,
    max_signatures: int | None = None,
    *,
    kinds: Mapping[str, SignerKind] | None = None,
    workers: int = 1,
    progress: ReverifyProgress | None = None,
    payloads_per_commit: int = _PAYLOADS_PER_COMMIT,
    listener: ReverifyListener | None = None,
) -> ReverifyResult:
    """Judge the next commit units of ``plan`` (whole documents, at least one, ``max_signatures`` signatures or
    fewer when the first allows; None: all), removing them from the plan; the result counts this part only.

    Raised out of (StoreBusy, a kill of the workers…), the units not committed go back to the front of the plan.
    """
    if plan.trust_fingerprint != trust.fingerprint:
        raise ValueError("this re-verification plan was made under another trust store")
    total = plan.signatures if max_signatures is None else min(plan.signatures, max_signatures)
    tally = _Tally(total=total, progress=progress, listener=listener)
    in_flight: deque[list[Job]] = deque()  # taken from the plan, not committed yet: what a failure gives back
    taken = 0

    def take() -> Iterator[Job]:
        # Units are taken as the verifier reaches them, not all at once: the plan reads the store a window at a
        # time, and a run's memory stays that of a window and the units in flight, whatever the archive's size.
        nonlocal taken
        while plan.has_units(store) and (
            max_signatures is None or not taken or taken + _rows(plan.units[0]) <= max_signatures
        ):
            unit = plan.units.popleft()
            taken += _rows(unit)
            plan.signatures -= _rows(unit)
            in_flight.append(unit)
            yield from unit

    try:
        with store.transaction(), Verifier(trust, kinds or {}, workers) as verifier:
            store.record_trust_state(trust)
            pending: list[Job] = []
            committed = 0
            for written, (_, group) in enumerate(groupby(_judged(store, verifier, take()), key=group_of), start=1):
                pending.extend(group)
                if len(pending) >= payloads_per_commit:
                    # One write per part, not per document: its rows are read back and written in a few
                    # statements, and each document's counters still change with its own verdicts.
                    _write_part(store, trust, pending, tally)
                    store.commit_and_begin()
                    for _ in range(written - committed):
                        in_flight.popleft()
                    committed, pending = written, []
            _write_part(store, trust, pending, tally)
    except BaseException:
        _give_back(plan, list(in_flight))
        raise
    return tally.result()


def _give_back(plan: ReverifyPlan, units: list[list[Job]]) -> None:
    for unit in reversed(units):
        for job in unit:
            job.verdicts = None
        plan.units.appendleft(unit)
        plan.signatures += _rows(unit)


def _rows(unit: list[Job]) -> int:
    return sum(len(job.rows) for job in unit)


@dataclass
class _Tally:
    total: int
    progress: ReverifyProgress | None
    listener: ReverifyListener | None = None
    done: int = 0
    unchanged: int = 0
    changed: int = 0
    missing: int = 0
    kept: list[VerdictChange | UnavailableSignature] = field(default_factory=list)
    """What a run without a listener returns in its result."""

    def advance(self, rows: int) -> None:
        self.done += rows
        if self.progress is not None:
            self.progress(self.total, self.done)

    def hear(self, heard: VerdictChange | UnavailableSignature) -> None:
        if isinstance(heard, VerdictChange):
            self.changed += 1
        else:
            self.missing += 1
        if self.listener is not None:
            self.listener(heard)
        else:
            self.kept.append(heard)

    def result(self) -> ReverifyResult:
        return ReverifyResult(
            checked=self.changed + self.unchanged + self.missing,
            changed=self.changed,
            unchanged=self.unchanged,
            unavailable=self.missing,
            changes=tuple(heard for heard in self.kept if isinstance(heard, VerdictChange)),
            unavailable_signatures=tuple(heard for heard in self.kept if isinstance(heard, UnavailableSignature)),
        )


def _judged(store: Store, verifier: Verifier, jobs: Iterable[Job]) -> Iterator[Job]:
    """The jobs in order, each with its verdicts or why there are none; verified ahead on the workers."""
    waiting: deque[Job] = deque()

    def items() -> Iterator[object]:
        for job in jobs:
            waiting.append(job)
            loaded = _load(store, job)
            if isinstance(loaded, Unavailable):
                job.verdicts = loaded
            yield loaded

    for item in verifier.ahead(items()):
        job = waiting.popleft()
        if isinstance(item, SignedPayload):
            job.verdicts = _verdicts_of(verifier.check(item).verdicts, job)
        yield job


def _load(store: Store, job: Job) -> SignedPayload | Unavailable:
    if store.payloads is None:
        return Unavailable(_NO_STORE_FILE)
    kept = store.kept_payload(job.payload_sha256)
    if kept is None:
        return Unavailable(_NOT_KEPT)
    kind, content_sha256 = kept
    data = store.payloads.get(job.payload_sha256)
    if isinstance(data, Unavailable):
        return data
    content = store.payloads.get(content_sha256) if content_sha256 is not None else None
    if isinstance(content, Unavailable):
        return Unavailable(f"the content this signature signs: {content.reason}")
    return SignedPayload(job.rows[0].item_name, data, content, kind)


def _verdicts_of(verdicts: list[Verdict] | VerifyFailed, job: Job) -> list[Verdict] | Unavailable:
    if isinstance(verdicts, VerifyFailed):
        return Unavailable(
            f"docflow could not verify this signed file again ({verdicts.error_type}); its verdict stays as it "
            "was: send the file to the docflow administrator"
        )
    if len(verdicts) != job.stored:
        return Unavailable(
            f"verified again, the signed file holds {len(verdicts)} signatures where the store holds {job.stored}; "
            "the verdicts stay as they were: send the file to the docflow administrator"
        )
    return verdicts


def _write_part(store: Store, trust: TrustStore, jobs: list[Job], tally: _Tally) -> None:
    """Write the new verdicts of whole documents (one commit's part) in one ``Store.rejudge``."""
    judged: list[tuple[StoredSignature, Verdict]] = []
    for job in jobs:
        if isinstance(job.verdicts, list):
            by_index = {verdict.index: verdict for verdict in job.verdicts}
            judged.extend((row, by_index[row.idx]) for row in job.rows if row.idx in by_index)
            missing = [row for row in job.rows if row.idx not in by_index]
            reason = "verified again, the signed file has no signature at this index; its verdict stays as it was"
        else:
            missing, reason = job.rows, job.verdicts.reason if job.verdicts else _NOT_KEPT
        for row in missing:
            tally.hear(UnavailableSignature(row.document_id, row.idx, row.payload_sha256, reason))
    if judged:
        judgement = judgement_now(bool(trust.anchors), trust.fingerprint)
        verdicts = {row.id: verdict for row, verdict in judged}
        for before, is_change in store.rejudge(list(verdicts.items()), judgement):
            if is_change:
                tally.hear(_change(before, verdicts[before.id]))
            else:
                tally.unchanged += 1
    if jobs:
        tally.advance(sum(len(job.rows) for job in jobs))
    for job in jobs:
        # Written: a verdict is some sixty objects, and the plan keeps its jobs until the part ends. Held, a
        # run's memory grew with every signature it had re-judged, whatever the part size.
        job.verdicts = None


def _change(row: StoredSignature, verdict: Verdict) -> VerdictChange:
    return VerdictChange(
        row.document_id,
        row.idx,
        row.payload_sha256,
        VerdictState(row.indication, row.subindication),
        VerdictState(verdict.indication.value, verdict.subindication.value if verdict.subindication else None),
        verdict.reason,
    )
