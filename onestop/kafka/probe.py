"""Probing ports and a starting broker on 127.0.0.1, from blocking code."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, Final, TypeVar

#: The local broker binds and advertises this address only.
HOST: Final = "127.0.0.1"

_T = TypeVar("_T")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def port_free(port: int) -> bool:
    """True when ``port`` can be bound on 127.0.0.1 (SO_REUSEADDR, as the JVM does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def port_open(port: int, timeout_s: float = 1.0) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _run_in_thread(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coro`` with ``asyncio.run`` in a fresh thread (works with or without a loop here)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="onestop-broker-probe", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    value: _T = box["value"]
    return value


@contextmanager
def _quiet_aiokafka() -> Iterator[None]:
    """Silence aiokafka's connection errors while a starting broker is being probed."""
    logger = logging.getLogger("aiokafka")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)


async def _describe_cluster(bootstrap: str, timeout_s: float) -> bool:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="onestop-broker-probe",
        request_timeout_ms=max(1000, int(timeout_s * 1000)),
    )
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
        info = await asyncio.wait_for(admin.describe_cluster(), timeout_s)
        return bool(info.get("brokers"))
    finally:
        await admin.close()


def answers_metadata(bootstrap: str, timeout_s: float) -> bool:
    """True when a Kafka metadata request to ``bootstrap`` lists at least one broker."""
    with _quiet_aiokafka():
        try:
            return _run_in_thread(_describe_cluster(bootstrap, timeout_s))
        except Exception:
            return False
