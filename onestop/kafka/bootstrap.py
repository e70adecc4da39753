"""Where OneStop finds Kafka."""

from __future__ import annotations

import os

from onestop.kafka.broker import LocalBroker

#: Environment variable naming the Kafka bootstrap servers (``host:port[,host:port...]``).
BOOTSTRAP_ENV = "ONESTOP_BOOTSTRAP"


def resolve_bootstrap(explicit: str | None) -> str:
    """Return the Kafka bootstrap servers to use.

    In order: ``explicit`` (e.g. a ``--bootstrap`` option), else ``$ONESTOP_BOOTSTRAP``, else
    the local broker on the default port, started when none runs (blocking, up to 90 s; call
    outside an event loop).

    Raises:
        onestop.kafka.broker.BrokerError: the local broker is needed but cannot be started.
    """
    if explicit and explicit.strip():
        return explicit.strip()
    from_env = os.environ.get(BOOTSTRAP_ENV, "").strip()
    if from_env:
        return from_env
    return LocalBroker().start()
