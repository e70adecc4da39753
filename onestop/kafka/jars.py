"""The Apache Kafka jars of the local broker: resolved once by Maven from the pinned pom in
``deploy/kafka/pom.xml`` into the user's cache, then reused without Maven."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from pathlib import Path
from typing import Final

import platformdirs

from onestop.kafka.errors import ALTERNATIVES, BrokerError, tail
from onestop.paths import DEPLOY_DIR

#: Apache Kafka version of the local broker; must equal ``kafka.version`` in the pom.
KAFKA_VERSION: Final = "4.1.1"
#: Environment variable overriding the cache directory holding the Kafka jars.
CACHE_DIR_ENV: Final = "ONESTOP_CACHE_DIR"
#: Maven pom pinning the Kafka server jars (found relative to the package, editable install).
POM_PATH: Final = DEPLOY_DIR / "kafka" / "pom.xml"
#: Log4j2 configuration handed to the JVM.
LOG4J_CONFIG_PATH: Final = DEPLOY_DIR / "kafka" / "log4j2.yaml"

_MARKER_NAME = "libs.complete.json"

log = logging.getLogger(__name__)


class MavenMissingError(BrokerError):
    """``mvn`` is needed to fetch the Kafka jars (empty cache) but is not on PATH."""


def default_cache_dir() -> Path:
    """Return the cache directory for the Kafka jars: ``$ONESTOP_CACHE_DIR`` or the user's."""
    override = os.environ.get(CACHE_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser().absolute()
    return Path(platformdirs.user_cache_dir("onestop"))


def _kafka_root(cache_dir: Path) -> Path:
    return cache_dir / f"kafka-{KAFKA_VERSION}"


def _libs_complete(libs: Path) -> bool:
    """True when the marker written after a successful copy lists jars that all exist."""
    try:
        names = json.loads((libs.parent / _MARKER_NAME).read_text())["jars"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if not isinstance(names, list) or not names:
        return False
    return all(isinstance(name, str) and (libs / name).is_file() for name in names)


def ensure_kafka_libs(cache_dir: Path | None = None) -> Path:
    """Return the directory with the Kafka server jars, running Maven once if needed.

    The jars go to ``<cache_dir>/kafka-<version>/libs``; a marker file written after a
    successful copy makes later calls return at once without Maven.

    Raises:
        MavenMissingError: the cache is empty and ``mvn`` is not on PATH.
        BrokerError: the pom is missing or Maven failed.
    """
    root = _kafka_root(cache_dir if cache_dir is not None else default_cache_dir())
    libs = root / "libs"
    if _libs_complete(libs):
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MavenMissingError(
            f"Apache Maven is needed once to download the Apache Kafka {KAFKA_VERSION} jars "
            f"into {libs}, but `mvn` was not found on PATH. Install it (for example "
            f"`apt-get install maven`), or {ALTERNATIVES}."
        )
    if not POM_PATH.is_file():
        raise BrokerError(
            f"The Kafka pom {POM_PATH} is missing; install OneStop from its source tree "
            f"(`pip install -e .`), or {ALTERNATIVES}."
        )
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f"libs.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    log.info("Fetching Apache Kafka %s jars with Maven into %s", KAFKA_VERSION, libs)
    command = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(POM_PATH),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={staging}",
        "-DincludeScope=runtime",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False
    )
    jars = sorted(path.name for path in staging.glob("*.jar"))
    if result.returncode != 0 or f"kafka_2.13-{KAFKA_VERSION}.jar" not in jars:
        shutil.rmtree(staging, ignore_errors=True)
        raise BrokerError(
            f"Maven could not fetch the Apache Kafka {KAFKA_VERSION} jars (exit code "
            f"{result.returncode}); is Maven Central reachable? Last lines of its output:\n"
            + tail(result.stdout + result.stderr)
        )
    if _libs_complete(libs):  # another process finished first
        shutil.rmtree(staging, ignore_errors=True)
        return libs
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    marker_tmp = root / f"{_MARKER_NAME}.{os.getpid()}"
    marker_tmp.write_text(json.dumps({"kafka_version": KAFKA_VERSION, "jars": jars}, indent=1))
    os.replace(marker_tmp, root / _MARKER_NAME)
    return libs
