"""The benchmark's bookkeeping: a service's CPU time."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from onestop.kafka.services import ServiceProcess

BUSY = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass\n"


def test_cpu_seconds_counts_what_the_process_burns(tmp_path: Path) -> None:
    service = ServiceProcess(
        "busy", [sys.executable, "-c", BUSY + "time.sleep(30)"], tmp_path / "busy.log"
    ).start()
    try:
        used = 0.0
        for _ in range(100):
            used = service.cpu_seconds() or 0.0
            if used >= 0.6:
                break
            time.sleep(0.1)
        assert 0.6 <= used < 5.0
    finally:
        service.stop()
    assert service.cpu_seconds() is None  # ended
