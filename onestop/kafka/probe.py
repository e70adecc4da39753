"""Probing ports and a starting broker on 127.0.0.1, from blocking code."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, TypeVar

from onestop.kafka.errors import BrokerError

#: The local broker binds and advertises this address only.
HOST: Final = "127.0.0.1"

_POLL_INTERVAL_S = 0.5

_T = TypeVar("_T")


#: Ports handed out by :func:`free_port` start here ...
_FIRST_CHOSEN_PORT: Final = 20000
#: ... and end below the first ephemeral port when /proc does not say where that is.
_EPHEMERAL_FIRST_DEFAULT: Final = 32768
_EPHEMERAL_RANGE: Final = Path("/proc/sys/net/ipv4/ip_local_port_range")


def ephemeral_first() -> int:
    """The first port the kernel hands to outgoing connections (Linux's
    ``ip_local_port_range``; 32768 where it cannot be read)."""
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return _EPHEMERAL_FIRST_DEFAULT


def free_port(count: int = 1) -> int:
    """Return a port P on 127.0.0.1 such that P .. P+count-1 are free right now.

    Chosen at random below the ephemeral range: a port the kernel picks (``bind(0)``)
    lies inside it, where any outgoing connection may take it as its local port in the
    seconds before a JVM binds it. The OS picks only when that range leaves no room.
    """
    last = ephemeral_first() - count
    for _ in range(500):
        if last > _FIRST_CHOSEN_PORT:
            base = random.randint(_FIRST_CHOSEN_PORT, last)
        else:
            base = _kernel_port()
        if base + count <= 65536 and all(port_free(base + i) for i in range(count)):
            return base
    raise RuntimeError(f"found no {count} consecutive free ports on {HOST}")


def _kernel_port() -> int:
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


async def _listed_brokers(
    bootstrap: str, timeout_s: float, client_options: Mapping[str, Any]
) -> set[int]:
    from aiokafka.admin import AIOKafkaAdminClient

    from onestop.kafka.metadata import cluster_view

    admin = AIOKafkaAdminClient(
        **{**client_options, "bootstrap_servers": bootstrap},
        client_id="onestop-broker-probe",
        request_timeout_ms=max(1000, int(timeout_s * 1000)),
    )
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
        view = await asyncio.wait_for(cluster_view(admin), timeout_s)
        return set(view.brokers)
    finally:
        await admin.close()


def listed_brokers(
    bootstrap: str, timeout_s: float, client_options: Mapping[str, Any] | None = None
) -> set[int]:
    """The node ids that a Kafka metadata request to ``bootstrap`` lists (empty when it
    does not answer within ``timeout_s`` seconds).

    Args:
        client_options: further aiokafka keyword arguments (SASL settings of a secure
            broker, see ``schemas.access.KafkaAccess.client_options``).
    """
    with _quiet_aiokafka():
        try:
            return _run_in_thread(_listed_brokers(bootstrap, timeout_s, client_options or {}))
        except Exception:
            return set()


def wait_for_brokers(
    bootstrap: str,
    node_ids: set[int],
    *,
    died: Callable[[], str | None],
    deadline: float,
    client_options: Mapping[str, Any] | None = None,
) -> bool:
    """Block until a metadata request to ``bootstrap`` lists every one of ``node_ids``.

    Args:
        died: called between attempts; a message when a JVM waited for has died, else None.
        deadline: ``time.monotonic()`` value to give up at.
        client_options: as for :func:`listed_brokers`.

    Returns:
        True once they are listed, False when ``deadline`` passed first.

    Raises:
        BrokerError: ``died`` returned a message.
    """
    ports = [int(address.rpartition(":")[2]) for address in bootstrap.split(",")]
    while True:
        message = died()
        if message is not None:
            raise BrokerError(message)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        if any(port_open(port) for port in ports):
            listed = listed_brokers(bootstrap, min(10.0, max(1.0, remaining)), client_options)
            if node_ids <= listed:
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_INTERVAL_S)


def answers_metadata(
    bootstrap: str, timeout_s: float, client_options: Mapping[str, Any] | None = None
) -> bool:
    """True when a Kafka metadata request to ``bootstrap`` lists at least one broker."""
    return bool(listed_brokers(bootstrap, timeout_s, client_options))
