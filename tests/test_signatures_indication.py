"""Each sub-indication belongs to one main indication, as ETSI EN 319 102-1 (§5.1.3, Table 5) gives it."""

from __future__ import annotations

import pytest

from signatures.decide import PRECEDENCE, failed
from signatures.verdict import CheckName, Indication, SubIndication

_ETSI_TOTAL_FAILED = {
    SubIndication.FORMAT_FAILURE,
    SubIndication.HASH_FAILURE,
    SubIndication.SIG_CRYPTO_FAILURE,
    SubIndication.REVOKED,
    SubIndication.EXPIRED,
    SubIndication.NOT_YET_VALID,
}


@pytest.mark.parametrize("subindication", list(SubIndication), ids=lambda sub: sub.value)
def test_every_subindication_has_the_etsi_indication(subindication: SubIndication) -> None:
    etsi = Indication.TOTAL_FAILED if subindication in _ETSI_TOTAL_FAILED else Indication.INDETERMINATE
    assert subindication.indication is etsi


@pytest.mark.parametrize("subindication", list(SubIndication), ids=lambda sub: sub.value)
def test_a_failed_finding_carries_its_subindications_indication(subindication: SubIndication) -> None:
    finding = failed(CheckName.STRUCTURE, subindication, "reason")
    assert (finding.indication, finding.subindication) == (subindication.indication, subindication)


def test_proven_failures_come_first_in_precedence() -> None:
    # A TOTAL_FAILED headline must never be hidden behind an INDETERMINATE one.
    indications = [sub.indication for sub in PRECEDENCE]
    first_indeterminate = indications.index(Indication.INDETERMINATE)
    assert Indication.TOTAL_FAILED not in indications[first_indeterminate:]
