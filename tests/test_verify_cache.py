"""The engine's caches across files never change a verdict.

One signer, one trust store, two signing times either side of the signer's revocation: the path
result cached for one must never be served for the other, in whichever order they come, in one
process or spread over the command's workers.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from docflow.cli import main
from docflow.cli.verify import _json_line
from docflow.store.signature_rows import Judgement, signature_row
from samples.pki import Issued, SamplePKI, build_pki, issue_person, revoke, write_trust_dir
from samples.sign import sign_cms
from signatures import TrustStore, Verdict, verify_cms
from signatures.path import clear_cache
from signatures.verdict import Check, CheckName, CheckOutcome

CONTENT = "Quyết định số 12/QĐ-UBND".encode()


@pytest.fixture(scope="module")
def revoked_pki() -> tuple[SamplePKI, Issued, datetime]:
    pki = build_pki(seed_name="cache")
    signer = issue_person(pki, "Trần Thị Mai", agency="Sở Nội vụ tỉnh Bắc Kạn")
    revoked_at = pki.now - timedelta(days=10)
    revoke(pki, signer, revoked_at)
    return pki, signer, revoked_at


@pytest.fixture(scope="module")
def trust_folder(revoked_pki: tuple[SamplePKI, Issued, datetime], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_trust_dir(revoked_pki[0], tmp_path_factory.mktemp("trust"))


@pytest.fixture(scope="module")
def signatures(revoked_pki: tuple[SamplePKI, Issued, datetime]) -> dict[str, bytes]:
    _, signer, revoked_at = revoked_pki
    return {
        "before": sign_cms(CONTENT, signer, signing_time=revoked_at - timedelta(days=1)),
        "after": sign_cms(CONTENT, signer, signing_time=revoked_at + timedelta(days=1)),
    }


def _alone(der: bytes, trust: TrustStore) -> Verdict:
    clear_cache()
    return verify_cms(der, CONTENT, trust=trust)[0]


@pytest.mark.parametrize("order", [("before", "after"), ("after", "before")])
def test_one_signer_either_side_of_its_revocation_in_one_run(
    order: tuple[str, str], signatures: dict[str, bytes], trust_folder: Path
) -> None:
    trust = TrustStore.load(trust_folder)
    alone = {name: _alone(der, trust) for name, der in signatures.items()}
    assert alone["after"].subindication is not None and alone["after"].subindication.value == "REVOKED"
    assert alone["before"].subindication is None or alone["before"].subindication.value != "REVOKED"
    clear_cache()
    together = {name: verify_cms(signatures[name], CONTENT, trust=trust)[0] for name in (*order, *order)}
    assert together == alone


def test_the_command_on_two_workers_gives_each_signature_its_own_verdict(
    signatures: dict[str, bytes], trust_folder: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "signed"
    folder.mkdir()
    expected = {}
    for number in range(40):  # enough files for the worker pool; both kinds land in both workers
        name = ("before", "after")[number % 3 == 0]
        (folder / f"{number:02d}.txt").write_bytes(CONTENT)
        (folder / f"{number:02d}.txt.p7s").write_bytes(signatures[name])
        expected[f"{number:02d}.txt.p7s"] = _alone(signatures[name], TrustStore.load(trust_folder)).to_json()
    outputs = []
    for workers in ("1", "2"):
        clear_cache()
        result = CliRunner().invoke(
            main, ["verify", str(folder), "--trust", str(trust_folder), "--json", "--workers", workers]
        )
        assert result.exit_code == 1, result.output
        outputs.append(result.output)
        rows = [json.loads(line) for line in result.output.splitlines()]
        assert {Path(row.pop("file")).name: row for row in rows} == expected
    assert outputs[0] == outputs[1]


def test_a_json_line_is_json_dumps_of_the_verdict_whether_its_checks_were_cached_or_not(
    signatures: dict[str, bytes], trust_folder: Path
) -> None:
    trust = TrustStore.load(trust_folder)
    verdicts = [verify_cms(der, CONTENT, trust=trust)[0] for der in (*signatures.values(), *signatures.values())]
    verdicts.append(verify_cms(b"not a signature", CONTENT, trust=trust)[0])
    for verdict in verdicts:  # the second of each signer's comes from the cache
        expected = json.dumps({"file": "Hồ sơ/cv.p7s", **verdict.to_json()}, ensure_ascii=False)
        assert _json_line("Hồ sơ/cv.p7s", verdict) == expected


def test_a_json_line_never_takes_the_checks_of_verdicts_gone_before_it(
    signatures: dict[str, bytes], trust_folder: Path
) -> None:
    # The encoded checks are cached by the checks' identities. Each verdict here gets new Check objects and is
    # dropped at once, so without the cache keeping those objects alive their ids would be reused by the next
    # verdict's checks, with other details, and the line would carry the earlier verdict's checks.
    verdict = verify_cms(next(iter(signatures.values())), CONTENT, trust=TrustStore.load(trust_folder))[0]
    for number in range(200):
        checks = tuple(Check(check.name, check.outcome, f"{check.detail} {number}") for check in verdict.checks) + (
            Check(CheckName.MODIFICATION, CheckOutcome.PASSED, str(number)),
        )
        changed = dataclasses.replace(verdict, checks=checks)
        expected = json.dumps({"file": "cv.p7s", **changed.to_json()}, ensure_ascii=False)
        assert _json_line("cv.p7s", changed) == expected
        del changed, checks


def test_the_store_keeps_the_checks_as_verify_prints_them(signatures: dict[str, bytes], trust_folder: Path) -> None:
    """One definition: ``signatures.checks_json`` is the ``checks`` array of the verify line, cached or not."""
    trust = TrustStore.load(trust_folder)
    judgement = Judgement(True, trust.fingerprint, "2026-12-06T00:00:00+00:00")
    for der in (*signatures.values(), *signatures.values()):
        verdict = verify_cms(der, CONTENT, trust=trust)[0]
        row = signature_row(verdict, "ab" * 32, "cv.p7s", 1, None, None, judgement)
        assert row.checks_json == json.dumps(verdict.to_json()["checks"], ensure_ascii=False)
        assert json.loads(_json_line("cv.p7s", verdict))["checks"] == json.loads(row.checks_json)


def test_a_verdict_crosses_a_pickle_whole_and_its_checks_arrive_shared(
    signatures: dict[str, bytes], trust_folder: Path
) -> None:
    """Verdicts come back from verification workers by pickle: equal on arrival, and one signer's checks the same
    objects from one verdict to the next, so the writer encodes them once (docflow.checks_json)."""
    trust = TrustStore.load(trust_folder)
    der = next(iter(signatures.values()))
    first, second = (pickle.loads(pickle.dumps(verify_cms(der, CONTENT, trust=trust))) for _ in range(2))
    assert first == second == verify_cms(der, CONTENT, trust=trust)
    assert all(a is b for a, b in zip(first[0].checks, second[0].checks, strict=True))
    odd = Check(CheckName.MODIFICATION, CheckOutcome.FAILED, "chi tiết riêng")
    assert pickle.loads(pickle.dumps(odd)) == odd
