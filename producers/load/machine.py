"""Where a measurement ran: a description of the machine recorded beside every figure."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Mapping
from importlib import metadata
from typing import Any


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def memory_total_bytes() -> int | None:
    """MemTotal of /proc/meminfo in bytes, or None where there is none."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def describe_machine(kafka_version: str | None = None) -> dict[str, Any]:
    """Where a measurement ran: platform, CPUs, memory (bytes), Python and Kafka versions."""
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "memory_bytes": memory_total_bytes(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "aiokafka": _package_version("aiokafka"),
        "faust_streaming": _package_version("faust-streaming"),
        "kafka_broker": kafka_version or "unknown",
    }


def machine_line(machine: Mapping[str, Any]) -> str:
    """A one-line summary of `describe_machine()`."""
    memory = machine.get("memory_bytes")
    gib = f"{memory / 2**30:.1f} GiB" if memory else "? GiB"
    return (
        f"{machine.get('platform')}, {machine.get('cpu_count')} CPUs, {gib}, "
        f"Python {machine.get('python')}, aiokafka {machine.get('aiokafka')}, "
        f"Kafka {machine.get('kafka_broker')}"
    )
