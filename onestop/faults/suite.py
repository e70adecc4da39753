"""Running the fault cases in a row and adding them up per case: the table `make faults`
prints (case, runs, sent, delivered, dead-lettered, duplicates, lost, recovery seconds)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from onestop.faults.cases import CASES, Scale
from onestop.faults.harness import CaseResult


@dataclass(frozen=True)
class CaseTotals:
    """One case over all its runs."""

    case: str
    runs: int
    sent: int
    delivered: int
    deadlettered: int
    duplicates: int
    lost: int
    recovery_seconds: float | None  # the longest of the runs
    failed_runs: int

    @classmethod
    def of(cls, results: Sequence[CaseResult]) -> CaseTotals:
        """The totals of one case's runs."""
        recoveries = [r.recovery_seconds for r in results if r.recovery_seconds is not None]
        return cls(
            case=results[0].case,
            runs=len(results),
            sent=sum(r.sent for r in results),
            delivered=sum(r.delivered for r in results),
            deadlettered=sum(r.deadlettered for r in results),
            duplicates=sum(r.duplicates for r in results),
            lost=sum(r.lost for r in results),
            recovery_seconds=max(recoveries) if recoveries else None,
            failed_runs=sum(1 for r in results if not r.passed),
        )


async def run_cases(
    bootstrap: str,
    runs: Mapping[str, int],
    scale: Scale,
    on_result: Callable[[CaseResult], None] | None = None,
    workdir: Path | None = None,
) -> list[CaseTotals]:
    """Run each case of `runs` that many times in a row; return the totals per case."""
    totals = []
    for name, count in runs.items():
        case = CASES[name]
        results = []
        for _ in range(count):
            where = Path(tempfile.mkdtemp(prefix=f"onestop-fault-{name}-", dir=workdir))
            result = await case(bootstrap, where, scale)
            results.append(result)
            if on_result is not None:
                on_result(result)
        totals.append(CaseTotals.of(results))
    return totals
