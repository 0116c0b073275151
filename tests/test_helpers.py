"""The shared test helpers say what the engine says, and a failing counter check says which counter."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.ingest import assert_counters_exact, verdict, write_edxml

from docflow.ingest.run import ingest_batch
from docflow.store.core import Store
from signatures.verdict import Indication, SubIndication


@pytest.mark.parametrize("subindication", list(SubIndication), ids=lambda sub: sub.value)
def test_hand_made_verdict_has_the_engines_indication(subindication: SubIndication) -> None:
    made = verdict(passed=False, sub=subindication)
    assert (made.indication, made.subindication) == (subindication.indication, subindication)


def test_hand_made_passed_verdict_has_no_subindication() -> None:
    made = verdict()
    assert (made.indication, made.subindication) == (Indication.TOTAL_PASSED, None)


def test_failed_counter_check_names_the_counter_and_both_values(tmp_path: Path, store: Store) -> None:
    ingest_batch(write_edxml(tmp_path / "b.edxml", number="1"), store, None)
    unit, period = store.conn.execute("SELECT unit, period FROM unit_counters WHERE outgoing > 0").fetchone()
    store.conn.execute("UPDATE unit_counters SET outgoing = outgoing + 2 WHERE unit = ? AND period = ?", (unit, period))
    with pytest.raises(AssertionError) as raised:
        assert_counters_exact(store)
    assert f"{unit} {period} outgoing: expected 1, kept 3" in str(raised.value), str(raised.value)


def test_a_year_row_without_months_is_reported(tmp_path: Path, store: Store) -> None:
    ingest_batch(write_edxml(tmp_path / "b.edxml", number="1"), store, None)
    store.conn.execute("INSERT INTO unit_year_counters (unit, year) VALUES ('000.00.09.H04', '2023')")
    with pytest.raises(AssertionError) as raised:
        assert_counters_exact(store)
    assert "000.00.09.H04 2023: row not expected in the kept counters" in str(raised.value), str(raised.value)
