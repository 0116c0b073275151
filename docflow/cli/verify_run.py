"""What ``docflow verify`` verifies, and verifying it on every core with results streamed in input order.

Arguments become jobs lazily (a folder is walked as it is reached), and at most a bounded window of
files is in flight at once, so a run over an archive of any size holds only that window in memory.
A ``.p7s`` named after a file among the same arguments (or in the same folder) is that file's
signature: the file is its signed content, not an unsigned document.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from signatures import TrustStore, Verdict, verify_file

__all__ = ["Checked", "Job", "checked", "jobs_of", "verify_job"]

R = TypeVar("R")

log = logging.getLogger(__name__)

_SIGNATURE_SUFFIX = ".p7s"
_CHUNK_FILES = 16
"""Files per task: fewer round trips to the workers, and still a result soon after the first files."""
_CHUNKS_PER_WORKER = 4
"""Chunks in flight per worker: enough that no worker waits, few enough that memory stays bounded."""


@dataclass(frozen=True)
class Job:
    """One file to verify."""

    path: Path
    content: Path | None = None
    """The signed document of a detached signature, when given or found beside it."""
    signed_content: bool = False
    """The file is the document of a ``.p7s`` among the arguments: only its own embedded signatures count."""


@dataclass(frozen=True)
class Checked(Generic[R]):
    """One file and what the work made of it (its verdicts, or their printed form, made in a worker)."""

    job: Job
    result: R


def jobs_of(arguments: Sequence[Path], content: Path | None = None) -> Iterator[Job]:
    """The files named and the files under the folders named, in the order given (a folder's sorted)."""
    if content is not None:
        yield from (Job(path, content) for path in arguments)
        return
    named = {str(path) for path in arguments}
    for path in arguments:
        if path.is_dir():
            yield from _walk(path)
        else:
            yield _job(path, str(path), named)


def _walk(folder: Path) -> Iterator[Job]:
    for root, folders, names in os.walk(folder):
        folders.sort()
        present = set(names)
        for name in sorted(names):
            yield _job(Path(root, name), name, present)


def _job(path: Path, name: str, present: set[str]) -> Job:
    """``name`` is the path's last part, or the whole path as given, as ``present`` holds them."""
    if name[-len(_SIGNATURE_SUFFIX) :].lower() == _SIGNATURE_SUFFIX:
        partner = name[: -len(_SIGNATURE_SUFFIX)]
        return Job(path, path.with_name(path.name[: -len(_SIGNATURE_SUFFIX)]) if partner in present else None)
    return Job(path, signed_content=name + _SIGNATURE_SUFFIX in present)


def verify_job(job: Job, trust: TrustStore) -> list[Verdict]:
    if job.signed_content and job.path.suffix.lower() != ".pdf":
        return []  # the document of a detached signature, with no place for signatures of its own
    return verify_file(job.path, job.content, trust=trust)


# -- on every core ----------------------------------------------------------------------------------

_worker_work: Callable[[Job], Any] | None = None
"""Set in each worker by its initializer, once, before any task."""


def _start_worker(work: Callable[[Job], Any]) -> None:
    # Inherited through fork with the trust store it closes over, never pickled (a TrustStore cannot be).
    global _worker_work
    _worker_work = work


def _work_chunk(jobs: list[Job]) -> list[Any]:
    assert _worker_work is not None, "a verification worker ran a task before its initializer"
    return [_worker_work(job) for job in jobs]


def checked(jobs: Iterable[Job], work: Callable[[Job], R], workers: int) -> Iterator[Checked[R]]:
    """What ``work`` makes of each job, in the jobs' order, each as soon as it and every job before it is done."""
    jobs = iter(jobs)
    first = _take(jobs, _CHUNK_FILES)
    if workers <= 1 or len(first) < _CHUNK_FILES or "fork" not in multiprocessing.get_all_start_methods():
        yield from (Checked(job, work(job)) for job in first)
        yield from (Checked(job, work(job)) for job in jobs)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(work,)) as pool:
        try:
            yield from _pooled(pool, first, jobs, work, workers * _CHUNKS_PER_WORKER)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _pooled(
    pool: ProcessPoolExecutor,
    first: list[Job],
    jobs: Iterator[Job],
    work: Callable[[Job], R],
    window: int,
) -> Iterator[Checked[R]]:
    in_flight: deque[tuple[list[Job], Future[list[R]] | None]] = deque()
    chunk = first
    while chunk or in_flight:
        while chunk and len(in_flight) < window:
            in_flight.append((chunk, _submit(pool, chunk)))
            chunk = _take(jobs, _CHUNK_FILES)
        done, future = in_flight.popleft()
        for job, verdicts in zip(done, _results(done, future, work)):
            yield Checked(job, verdicts)


def _submit(pool: ProcessPoolExecutor, chunk: list[Job]) -> Future[list[R]] | None:
    try:
        return pool.submit(_work_chunk, chunk)
    except (BrokenProcessPool, RuntimeError):
        return None  # verified here instead


def _results(chunk: list[Job], future: Future[list[R]] | None, work: Callable[[Job], R]) -> list[R]:
    if future is not None:
        try:
            return future.result()
        except BrokenProcessPool:
            # A worker died (killed, out of memory): its files are verified here, none is lost.
            log.warning("a verification worker stopped; verifying %s and the rest here", chunk[0].path.name)
        except Exception as error:  # noqa: BLE001 - e.g. a result that would not unpickle: retry here
            log.warning("verifying %s in a worker failed (%r); verifying it here", chunk[0].path.name, error)
    return [work(job) for job in chunk]


def _take(jobs: Iterator[Job], count: int) -> list[Job]:
    taken: list[Job] = []
    with contextlib.suppress(StopIteration):
        while len(taken) < count:
            taken.append(next(jobs))
    return taken
