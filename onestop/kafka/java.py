"""Finding a Java runtime that runs the local Kafka broker (Java 17 or newer)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Final

from onestop.kafka.errors import ALTERNATIVES, BrokerError

#: Oldest Java feature release that runs Kafka 4.x brokers.
MIN_JAVA_VERSION: Final = 17


class JavaMissingError(BrokerError):
    """No Java 17+ runtime was found (``JAVA_HOME/bin/java`` or ``java`` on PATH)."""


def _java_problem_message(problem: str) -> str:
    return (
        f"Java {MIN_JAVA_VERSION} or newer is needed to run the local Kafka broker, but "
        f"{problem}. Install it (for example `apt-get install openjdk-17-jre-headless`, then "
        f"make sure `java` is on PATH or JAVA_HOME points to a JDK {MIN_JAVA_VERSION}+), or "
        f"{ALTERNATIVES}."
    )


def java_major_version(java: Path | str) -> int | None:
    """Return the feature release of ``java`` (8 for "1.8.0_x", 17 for "17.0.15"), or None.

    Parses the ``version "..."`` part that ``java -version`` prints on stderr; None when the
    command cannot run or prints no version.
    """
    try:
        result = subprocess.run(
            [str(java), "-version"],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if match is None:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2) is not None:
        return int(match.group(2))
    return major


def find_java() -> Path:
    """Return a Java 17+ executable: ``$JAVA_HOME/bin/java`` when present, else ``java`` on PATH.

    Raises:
        JavaMissingError: none found, or the one found is older than Java 17.
    """
    java: Path | None = None
    java_home = os.environ.get("JAVA_HOME", "").strip()
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            java = candidate
    if java is None:
        on_path = shutil.which("java")
        if on_path is not None:
            java = Path(on_path)
    if java is None:
        raise JavaMissingError(
            _java_problem_message("no `java` was found on PATH nor in JAVA_HOME/bin")
        )
    version = java_major_version(java)
    if version is None:
        raise JavaMissingError(
            _java_problem_message(f"the version of `{java}` could not be determined")
        )
    if version < MIN_JAVA_VERSION:
        raise JavaMissingError(_java_problem_message(f"`{java}` is Java {version}"))
    return java
