"""Where the files that ship beside the packages live: the Kafka pom and Prometheus files
under `deploy/`, the shipped scenarios under `exercises/`, and `BENCHMARKS.md`. OneStop runs
from a checkout (an editable install), so they are found relative to this file."""

from __future__ import annotations

from pathlib import Path
from typing import Final

#: The checkout's top folder.
PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent
DEPLOY_DIR: Final = PROJECT_ROOT / "deploy"
EXERCISES_DIR: Final = PROJECT_ROOT / "exercises"
BENCHMARKS_PATH: Final = PROJECT_ROOT / "BENCHMARKS.md"
