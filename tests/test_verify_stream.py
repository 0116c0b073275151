"""The streaming of ``docflow verify``: a file's result is handed on before later files are verified."""

from __future__ import annotations

import os
from pathlib import Path

from docflow.cli.verify_run import Job, checked
from signatures import Verdict


def test_first_result_is_handed_on_before_the_last_file_is_verified() -> None:
    jobs = [Job(Path(f"f{number}.p7s")) for number in range(5)]
    received: list[Path] = []

    def verify(job: Job) -> list[Verdict]:
        if job is jobs[-1]:
            assert received[:1] == [jobs[0].path], "the last file was verified before the first was handed on"
        return []

    for result in checked(iter(jobs), verify, workers=1):
        received.append(result.job.path)
    assert received == [job.path for job in jobs]


def test_a_worker_that_dies_loses_no_file() -> None:
    jobs = [Job(Path(f"f{number:02d}.p7s")) for number in range(40)]
    parent = os.getpid()

    def work(job: Job) -> str:
        if os.getpid() != parent and job.path.name == "f20.p7s":
            os._exit(9)  # as if killed, or out of memory
        return job.path.name

    results = list(checked(iter(jobs), work, workers=2))
    assert [result.result for result in results] == [job.path.name for job in jobs]
