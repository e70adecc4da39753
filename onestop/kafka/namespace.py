"""Makes a namespace ready before a command's clients start: its topics and, on a secure
broker, its ACLs, both as the ``admin`` principal.

Credentials without ``admin`` (a national node's own file, say) leave both to whoever
holds them: the command goes on, and :func:`onestop.kafka.rights.check_rights` tells
when a topic or a right is missing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from onestop.kafka.acls import grant_namespace
from onestop.kafka.credentials import KafkaLogins
from onestop.kafka.topics import ensure_topics
from schemas.access import ADMIN
from schemas.enums import Country
from schemas.refusals import explained
from schemas.topics import Topics

log = logging.getLogger(__name__)


async def prepare_namespace(
    logins: KafkaLogins, topics: Topics, parties: Iterable[Country]
) -> list[str]:
    """Create the missing topics of `topics` for `parties` (and grant the namespace's
    ACLs, for every party, on a secure broker); return the topics created.

    Raises:
        onestop.kafka.topics.TopicLayoutError: an existing topic has the wrong layout.
        schemas.refusals.AccessRefused: the broker refused the ``admin`` principal.
    """
    if not logins.secure:
        return await ensure_topics(logins.bootstrap, topics, parties)
    if not logins.has(ADMIN):
        log.info("no %s login: topics and ACLs of %s left as they are", ADMIN, topics.namespace)
        return []
    admin = logins.access(ADMIN)
    async with explained(admin, "create topics and ACLs"):
        created = await ensure_topics(admin, topics, parties)
        await grant_namespace(admin, topics.namespace)
    return created
