"""Schemathesis in the suite (tests/fuzz.py): every check and phase, anonymous, as a customer
and as an admin, against the real shop on a free port, on a budget of about a minute and a
half in all. `make fuzz` runs the same with a budget of tens of thousands of cases.

No check is excluded. One expectation is widened, for one operation, with its reason in
tests/fuzz.py (ADJUSTED_EXPECTATIONS): POST /api/orders may answer a schema-valid order that
names a product id that does not exist with 422, as the contract says."""

from __future__ import annotations

from pathlib import Path

from tests.fuzz import fuzz, summary

# Per identity; fuzzing and stateful testing repeat until it is spent. A fixed seed makes a
# failure here one that the next run reproduces.
SUITE_BUDGET = ["--max-time", "25", "--seed", "13", "--workers", "2"]


async def test_schemathesis_finds_nothing(tmp_path: Path) -> None:
    outcomes = await fuzz(tmp_path / "reports", SUITE_BUDGET)
    failed = [outcome for outcome in outcomes if not outcome.passed]
    details = "\n\n".join(f"==== {o.identity}\n{o.output[-15000:]}" for o in failed)
    assert not failed, summary(outcomes) + "\n\n" + details
