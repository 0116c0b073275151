"""Signature verification for ingestion: in this process, or in a pool of worker processes.

Verification is the costly part of ingesting signed files, and it needs nothing from the
store, so it can run on every core while the single writer stores results. Results always
come back to the writer in batch order, so the store ends up the same whatever the number
of workers. A verifier that raises on a file, or a worker that dies, never loses the file:
it becomes a ``VerifyFailed`` result or is verified again in this process.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import multiprocessing
import os
import traceback
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from docflow.records import DocumentRecord, SignedPayload
from signatures import SignerKind, TrustStore, Verdict, verify_cms, verify_pdf

__all__ = ["Checked", "VerifyFailed", "Verifier", "verify_payload"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerifyFailed:
    """The verifier raised on a file (a bug in it, or input it cannot cope with)."""

    error_type: str
    detail: str


@dataclass(frozen=True)
class Checked:
    """One signed file, verified: its SHA-256 (hashed where it was verified) and its verdicts."""

    sha256: str
    verdicts: list[Verdict] | VerifyFailed


def verify_payload(payload: SignedPayload, trust: TrustStore, kinds: Mapping[str, SignerKind]) -> Checked:
    sha256 = hashlib.sha256(payload.data).hexdigest()
    try:
        if payload.kind == "pdf":
            return Checked(sha256, list(verify_pdf(payload.data, trust=trust, kinds=kinds)))
        return Checked(sha256, list(verify_cms(payload.data, content=payload.content, trust=trust, kinds=kinds)))
    except Exception as error:  # noqa: BLE001 - one file the verifier chokes on must not sink the batch
        return Checked(
            sha256, VerifyFailed(type(error).__name__, "".join(traceback.format_exception_only(error)).strip())
        )


_POOL_MIN_PAYLOADS = 16
"""Signed files seen ahead before a pool is worth starting (a fork costs about as much as a few verifications)."""
_AHEAD_ITEMS = 64
"""Items read ahead of the writer, so workers verify while the writer stores."""
_AHEAD_BYTES = 64 << 20
"""...and at most this many bytes of signed files held ahead: a batch is never held whole."""
_CHUNK_PAYLOADS = 4
"""Signed files per task: fewer round trips to the workers, still enough tasks to share out."""

_WORKER_NICENESS = 5

_worker_trust: TrustStore | None = None
"""Set in each worker by ``_start_worker`` before any task runs."""
_worker_kinds: Mapping[str, SignerKind] = {}


def _start_worker(trust: TrustStore, kinds: Mapping[str, SignerKind]) -> None:
    # Inherited through fork, never pickled (a TrustStore holds objects that cannot be).
    global _worker_trust, _worker_kinds
    _worker_trust, _worker_kinds = trust, kinds
    # The single writer is the bottleneck: when workers fill every core, a writer thread preempted
    # while holding the GIL stalls the writer for a whole time slice. Workers yield to it instead.
    with contextlib.suppress(OSError):
        os.nice(_WORKER_NICENESS)


def _verify_chunk(payloads: list[SignedPayload]) -> list[Checked]:
    assert _worker_trust is not None, "a verification worker ran a task before its initializer"
    return [verify_payload(payload, _worker_trust, _worker_kinds) for payload in payloads]


class Verifier:
    """Verifies signed files in this process, or, once a batch shows enough of them, in a process pool.

    ``ahead`` reads items a little ahead of the writer and hands their signed files to the pool;
    ``check`` then returns each file's result as the writer reaches it, in batch order.
    """

    def __init__(self, trust: TrustStore, kinds: Mapping[str, SignerKind], workers: int) -> None:
        self.trust = trust
        self.kinds = kinds
        self.workers = workers if "fork" in multiprocessing.get_all_start_methods() else 1
        self.pool: ProcessPoolExecutor | None = None
        self.broken = False
        self.submitted: dict[int, tuple[SignedPayload, Future[list[Checked]], int]] = {}
        """id(payload) → (payload, its chunk's future, its place in the chunk); the payload keeps the id unique."""
        self.chunk: list[SignedPayload] = []

    @property
    def trust_checked(self) -> bool:
        """Whether verdicts are judged against any trust anchor: without one, no signature could pass, and its
        row says so (``signatures.trust_checked``)."""
        return bool(self.trust.anchors)

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def ahead(self, items: Iterable[object]) -> Iterator[object]:
        """The items, in order; with more than one worker, signed files further on are already being verified."""
        if self.workers <= 1:
            yield from items
            return
        window: deque[tuple[object, list[SignedPayload]]] = deque()
        held = 0
        unsent: list[SignedPayload] = []
        for item in items:
            payloads = _payloads_of(item)
            window.append((item, payloads))
            held += sum(_size(payload) for payload in payloads)
            unsent.extend(payloads)
            if self.pool is None and len(unsent) >= _POOL_MIN_PAYLOADS and not self.broken:
                self.pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=multiprocessing.get_context("fork"),
                    initializer=_start_worker,
                    initargs=(self.trust, self.kinds),
                )
            if self.pool is not None:
                self._send(unsent)
                unsent = []
            while len(window) > _AHEAD_ITEMS or (held > _AHEAD_BYTES and len(window) > 1):
                head, head_payloads = window.popleft()
                held -= sum(_size(payload) for payload in head_payloads)
                # Without a pool yet, the writer verifies the head's files itself: never send them later.
                del unsent[: len(head_payloads)]
                self._send_partial_chunk(head_payloads)
                yield head
        while window:
            head, head_payloads = window.popleft()
            self._send_partial_chunk(head_payloads)
            yield head

    def check(self, payload: SignedPayload) -> Checked:
        sent = self.submitted.pop(id(payload), None)
        if sent is not None:
            _, future, index = sent
            try:
                return future.result()[index]
            except BrokenProcessPool:
                # A worker died (killed, out of memory): verify here, as without a pool.
                if not self.broken:
                    log.warning(
                        "a verification worker stopped at %s; verifying the rest of the batch in the main process",
                        payload.name,
                    )
                self.broken = True
            except Exception as error:  # noqa: BLE001 - e.g. a result that would not unpickle: retry here
                log.warning(
                    "verifying %s in a worker failed (%r); verifying it in the main process", payload.name, error
                )
        return verify_payload(payload, self.trust, self.kinds)

    def _send(self, payloads: list[SignedPayload]) -> None:
        for payload in payloads:
            self.chunk.append(payload)
            if len(self.chunk) >= _CHUNK_PAYLOADS:
                self._submit_chunk()

    def _send_partial_chunk(self, payloads: list[SignedPayload]) -> None:
        """The writer is about to need these: a chunk still being filled goes to the pool now."""
        in_chunk = {id(payload) for payload in self.chunk}
        if any(id(payload) in in_chunk for payload in payloads):
            self._submit_chunk()

    def _submit_chunk(self) -> None:
        chunk, self.chunk = self.chunk, []
        if self.pool is None or self.broken:
            return  # not submitted: check() verifies them here
        try:
            future = self.pool.submit(_verify_chunk, chunk)
        except BrokenProcessPool:
            self.broken = True
            return
        for index, payload in enumerate(chunk):
            self.submitted[id(payload)] = (payload, future, index)


def _payloads_of(item: object) -> list[SignedPayload]:
    if isinstance(item, SignedPayload):
        return [item]
    if isinstance(item, DocumentRecord):
        return list(item.payloads)
    return []


def _size(payload: SignedPayload) -> int:
    return len(payload.data) + len(payload.content or b"")
