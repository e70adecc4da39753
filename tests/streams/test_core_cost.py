"""The in-memory cost measure of the hub core puts every input through and writes one
audit record for each."""

from __future__ import annotations

from tests.core_cost import measure


async def test_every_input_gets_one_audit_record_and_is_measured() -> None:
    cost = await measure(50)

    assert cost.records_per_input == 1.0
    assert cost.cpu_per_input > 0
    assert cost.bytes_per_input > 0
