"""A seeded corpus of bad input against a real hub subprocess on a real broker.

Several hundred bad records of every kind the hub must refuse (garbage, truncated or
ill-typed JSON, unknown kinds, oversized values, false senders, missing or inconsistent
CloudEvents headers, answers to nothing, wrong languages, H2 information passed on without
consent, misplaced keys and partitions, tombstones, null keys, ...) are produced on several
outboxes, interleaved with 100 valid requests. Every bad record must come out on the
dead-letter topic exactly once, byte for byte with its original key and headers, the hub's
reason headers appended and pointing back at the offset the producer got; every valid
request must be delivered exactly once; the metrics and the audit trail must agree; and
the hub must still be running at the end.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from onestop.exercise.clock_control import publish_clock
from schemas.audit import AuditEvent, AuditRecord, verify_chain
from schemas.clock import ClockAction, ClockCommand, ExerciseSetup
from schemas.countries import ACCEPTED_LANGUAGES
from schemas.deadlines import DIRECTIVE_2023_977
from schemas.enums import Country, HandlingCode, MessageKind, Urgency
from schemas.envelope import (
    DLQ_DETAIL,
    DLQ_ID,
    DLQ_OFFSET,
    DLQ_PARTITION,
    DLQ_REASON,
    DLQ_TOPIC,
    MAX_VALUE_BYTES,
    REQUIRED_HEADERS,
    EnvelopeError,
    KafkaRecord,
    decode,
    encode,
)
from schemas.messages import ANSWER_KINDS_FROM_REQUESTED, MessageBase, kind_of
from schemas.topics import Topics, partition_for
from tests.factories import SENT_AT, make_message
from tests.support import HubProcess, Record, create_topics, read_all, read_until

SEED: Final = 977_2023
PARTITIONS: Final = 4
VALID_COUNT: Final = 100
WAIT_SECONDS: Final = 60.0
C = Country
K = MessageKind
PARTIES: Final = (C.PL, C.DE, C.LT, C.CZ, C.FR, C.NL, C.AT, C.SK)
OPENING_CHOICES: Final = (
    K.REQUEST,
    K.SIRENE_FORM,
    K.PRUM_QUERY,
    K.PRUM_FOLLOWUP,
    K.SPONTANEOUS_INFORMATION,
    K.INTERPOL_DIFFUSION,
)
ANSWER_CHOICES: Final = (*sorted(ANSWER_KINDS_FROM_REQUESTED), K.CLARIFICATION_REPLY)
DLQ_HEADERS: Final = [DLQ_REASON, DLQ_DETAIL, DLQ_TOPIC, DLQ_PARTITION, DLQ_OFFSET, DLQ_ID]

# Fields given a value of the wrong type (or an impossible value), per kind and for all.
WRONG_ANYWHERE: Final[list[tuple[str, Any]]] = [
    ("message_id", 42),
    ("message_id", ""),
    ("case_id", ["case"]),
    ("request_id", {"id": 1}),
    ("sender", 7),
    ("sender", "XX"),
    ("recipient", None),
    ("language", 5),
    ("language", "english"),
    ("handling_code", "H9"),
    ("handling_code", 0),
    ("sent_at", "yesterday"),
    ("sent_at", [2026, 3, 2]),
    ("sent_at", "2026-03-02T08:00:00"),  # no time zone
    ("evaluation", "A1"),
    ("evaluation", {"source": "Z", "information": "1"}),
    ("kind", 3),
    ("kind", None),
]
WRONG_FOR_KIND: Final[dict[MessageKind, list[tuple[str, Any]]]] = {
    K.REQUEST: [
        ("urgency", 1),
        ("urgency", "soon"),
        ("accessibility", []),
        ("subject", 123),
        ("subject", "x" * 301),
        ("details", 3.5),
        ("provider_consent", "maybe"),
        ("originated_from", 12),
    ],
    K.SIRENE_FORM: [("form", "Z"), ("sis_alert_id", 12), ("information", False)],
    K.PRUM_QUERY: [("category", "iris"), ("reference", None)],
    K.PRUM_FOLLOWUP: [("category", 1), ("hit_request_id", [])],
    K.SPONTANEOUS_INFORMATION: [("information", 5), ("subject", None)],
    K.INTERPOL_DIFFUSION: [("colour", "pink"), ("subject", [])],
}
UNKNOWN_KINDS: Final = ("telegram", "fax", "request_v2", "REQUEST", "Reply", "overdue", "", "sms")
FOREIGN_LANGUAGES: Final = ("ja", "zz", "ru", "zh", "pl", "fr", "it", "hu", "xx")


@dataclass(frozen=True)
class Input:
    """One record of the corpus: where it goes, its bytes, and what the hub must do with
    it (`reasons`: the dead-letter reasons allowed; empty for a valid request)."""

    category: str
    topic: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    reasons: frozenset[str] = frozenset()
    partition: int | None = None  # explicit placement; None: the default partitioner
    message_id: str = ""
    recipient: Country | None = None
    after: str | None = None  # must be produced after this (valid) message id

    @property
    def valid(self) -> bool:
        return not self.reasons


@dataclass(frozen=True)
class Produced:
    """An input and where the broker stored it."""

    input: Input
    partition: int
    offset: int

    @property
    def coordinates(self) -> tuple[str, int, int]:
        return (self.input.topic, self.partition, self.offset)


class Corpus:
    """Builds the corpus from a seed: the same seed and wall time give the same records."""

    def __init__(self, seed: int, topics: Topics, wall: datetime) -> None:
        self.rng = random.Random(seed)
        self.topics = topics
        self.wall = wall
        self.serial = 0
        self.bad: list[Input] = []
        self.valid: list[Input] = []

    # ---- building blocks -------------------------------------------------------------

    def _next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial:04d}"

    def _pair(self) -> tuple[Country, Country]:
        sender, recipient = self.rng.sample(PARTIES, 2)
        return sender, recipient

    def message(self, kind: MessageKind | None = None, **overrides: Any) -> MessageBase:
        """A valid message (an opening of a random kind by default) with a fresh id."""
        kind = kind or self.rng.choice(OPENING_CHOICES)
        sender, recipient = self._pair()
        request_id = self._next_id("m")
        fields: dict[str, Any] = {
            "message_id": request_id,
            "request_id": request_id,
            "case_id": f"case-{request_id}",
            "sender": sender,
            "recipient": recipient,
            "sent_at": SENT_AT,
        }
        return make_message(kind, **(fields | overrides))

    def encode(self, message: MessageBase, **kwargs: Any) -> KafkaRecord:
        return encode(message, wall_time=self.wall, **kwargs)

    def add(
        self,
        category: str,
        reasons: Iterable[str],
        record: KafkaRecord,
        sender: Country,
        *,
        decodes: bool = False,
        **changes: Any,
    ) -> None:
        """A bad input: `record` on `sender`'s outbox, with `changes` to it. `decodes`:
        the envelope is sound, and one of the hub's later checks must refuse it."""
        item = Input(
            category=category,
            topic=self.topics.outbox(sender),
            key=record.key,
            value=record.value,
            headers=tuple(record.headers),
            reasons=frozenset(reasons),
        )
        item = dataclasses.replace(item, **changes)
        _check_envelope(item, decodes)
        self.bad.append(item)

    # ---- the categories --------------------------------------------------------------

    def valid_requests(self, count: int) -> None:
        for index in range(count):
            sender, recipient = self._pair()
            language = self.rng.choice(sorted(ACCEPTED_LANGUAGES[recipient]))
            message = self.message(K.REQUEST, sender=sender, recipient=recipient, language=language)
            record = self.encode(message)
            value = record.value or b""
            if index == 0:  # exactly at the size limit: still accepted
                value = value + b" " * (MAX_VALUE_BYTES - len(value))
            self.valid.append(
                Input(
                    category="valid",
                    topic=self.topics.outbox(sender),
                    key=record.key,
                    value=value,
                    headers=tuple(record.headers),
                    message_id=message.message_id,
                    recipient=recipient,
                )
            )

    def random_bytes(self, count: int) -> None:
        for _ in range(count):
            message = self.message()
            garbage = self.rng.randbytes(self.rng.randint(0, 300))
            self.add(
                "random bytes",
                {"undecodable", "invalid"},
                self.encode(message),
                message.sender,
                value=garbage,
            )

    def truncated_json(self, count: int) -> None:
        for _ in range(count):
            message = self.message()
            record = self.encode(message)
            value = record.value or b""
            cut = value[: self.rng.randint(0, len(value) - 1)]
            self.add("truncated JSON", {"undecodable"}, record, message.sender, value=cut)

    def wrong_types(self, count: int) -> None:
        for _ in range(count):
            message = self.message()
            body = json.loads(self.encode(message).value or b"")
            field, wrong = self.rng.choice(WRONG_ANYWHERE + WRONG_FOR_KIND[body["kind"]])
            body[field] = wrong
            self.add(
                "wrong type in a field",
                {"invalid"},
                self.encode(message),
                message.sender,
                value=json.dumps(body).encode(),
            )

    def unknown_kind(self, count: int) -> None:
        for _ in range(count):
            message = self.message()
            record = self.encode(message)
            body = json.loads(record.value or b"")
            body["kind"] = self.rng.choice(UNKNOWN_KINDS)
            headers = _replace(record.headers, "ce_type", f"eu.onestop.{body['kind']}.v1".encode())
            self.add(
                "unknown kind",
                {"invalid"},
                record,
                message.sender,
                value=json.dumps(body).encode(),
                headers=headers,
            )

    def oversized(self, count: int) -> None:
        for index in range(count):
            message = self.message(K.REQUEST)
            record = self.encode(message)
            value = record.value or b""
            size = MAX_VALUE_BYTES + (1 if index == 0 else self.rng.randint(2, 100_000))
            if index % 2:  # a field far beyond its limit
                body = json.loads(value)
                body["details"] = ""
                filler = size - len(json.dumps(body).encode())
                body["details"] = "x" * filler
                big = json.dumps(body).encode()
            else:  # an otherwise valid message padded with whitespace
                big = value + b" " * (size - len(value))
            assert len(big) > MAX_VALUE_BYTES
            self.add("oversized value", {"oversized"}, record, message.sender, value=big)

    def wrong_sender(self, count: int) -> None:
        for index in range(count):
            message = self.message()
            if index % 3:  # the payload claims another sender than the outbox's owner
                owner = self.rng.choice([p for p in PARTIES if p is not message.sender])
                self.add(
                    "wrong sender", {"wrong_sender"}, self.encode(message), owner, decodes=True
                )
            else:  # the right outbox, but ce_source names someone else
                source = self.rng.choice(
                    [
                        "/hub",
                        "/nodes/XX",
                        f"nodes/{message.sender.value}",
                        f"/nodes/{message.sender.value.lower()}",
                        "/nodes/US",
                    ]
                )
                self.add(
                    "wrong ce_source",
                    {"wrong_sender"},
                    self.encode(message, source=source),
                    message.sender,
                    decodes=True,
                )

    def missing_headers(self, per_header: int) -> None:
        for name in REQUIRED_HEADERS:
            for _ in range(per_header):
                message = self.message()
                record = self.encode(message)
                headers = tuple((k, v) for k, v in record.headers if k != name)
                self.add(
                    f"missing header {name}",
                    {"missing_header"},
                    record,
                    message.sender,
                    headers=headers,
                )

    def inconsistent_headers(self, type_count: int, other_count: int) -> None:
        for _ in range(type_count):
            message = self.message()
            record = self.encode(message)
            other = self.rng.choice([k for k in MessageKind if k is not kind_of(message)])
            wrong = self.rng.choice(
                [
                    f"eu.onestop.{other.value}.v1",
                    f"eu.onestop.{kind_of(message)}.v2",
                    "com.example.thing",
                    f"eu.onestop.{kind_of(message)}",
                ]
            )
            self.add(
                "ce_type not matching",
                {"invalid_header"},
                record,
                message.sender,
                headers=_replace(record.headers, "ce_type", wrong.encode()),
            )
        changes: list[tuple[str, bytes]] = [
            ("ce_id", b"another-id"),
            ("ce_specversion", b"0.3"),
            ("ce_specversion", b"2.0"),
            ("content-type", b"text/plain"),
            ("content-type", b"application/xml"),
            ("ce_subject", b"\xff\xfe not UTF-8"),
        ]
        for index in range(other_count):
            message = self.message()
            record = self.encode(message)
            name, value = changes[index % len(changes)]
            self.add(
                f"inconsistent header {name}",
                {"invalid_header"},
                record,
                message.sender,
                headers=_replace(record.headers, name, value),
            )

    def answers_to_nothing(self, count: int) -> None:
        for _ in range(count):
            kind = self.rng.choice(ANSWER_CHOICES)
            message = self.message(kind)
            self.add(
                f"{kind.value} to an unknown request",
                {"unknown_request"},
                self.encode(message),
                message.sender,
                decodes=True,
            )

    def wrong_language(self, count: int) -> None:
        for _ in range(count):
            sender, recipient = self._pair()
            language = self.rng.choice(
                [lang for lang in FOREIGN_LANGUAGES if lang not in ACCEPTED_LANGUAGES[recipient]]
            )
            message = self.message(sender=sender, recipient=recipient, language=language)
            self.add(
                "wrong language", {"wrong_language"}, self.encode(message), sender, decodes=True
            )

    def h2_without_consent(self, count: int) -> None:
        for _ in range(count):
            sender, recipient = self._pair()
            provider = self.rng.choice(
                [p for p in (*PARTIES, C.US, C.UK) if p not in (sender, recipient)]
            )
            message = self.message(
                self.rng.choice([K.REQUEST, K.SPONTANEOUS_INFORMATION]),
                sender=sender,
                recipient=recipient,
                handling_code=self.rng.choice([HandlingCode.H2, HandlingCode.H3]),
                originated_from=provider,
                provider_consent=False,
            )
            self.add(
                "H2/H3 passed on without consent",
                {"handling_code"},
                self.encode(message),
                sender,
                decodes=True,
            )

    def wrong_key(self, count: int) -> None:
        for _ in range(count):
            message = self.message()
            key = self.rng.choice(
                [
                    f"{message.request_id}-x".encode(),
                    message.case_id.encode(),
                    b"",
                    self.rng.randbytes(8),
                    message.request_id.upper().encode(),
                    b"PL-REQ-0001",
                ]
            )
            self.add(
                "key is not the request id",
                {"wrong_key"},
                self.encode(message),
                message.sender,
                key=key,
                decodes=True,
            )

    def wrong_partition(self, count: int) -> None:
        for _ in range(count):
            message = self.message()
            record = self.encode(message)
            right = partition_for(record.key or b"", PARTITIONS)
            wrong = (right + self.rng.randint(1, PARTITIONS - 1)) % PARTITIONS
            self.add(
                "not on the key's partition",
                {"wrong_partition"},
                record,
                message.sender,
                partition=wrong,
                decodes=True,
            )

    def tombstones(self, count: int) -> None:
        for index in range(count):
            message = self.message()
            if index % 4 == 3:
                self.add(
                    "tombstone without headers",
                    {"missing_header"},
                    self.encode(message),
                    message.sender,
                    value=None,
                    headers=(),
                )
            else:
                self.add(
                    "tombstone", {"undecodable"}, self.encode(message), message.sender, value=None
                )

    def null_key(self, count: int) -> None:
        for _ in range(count):
            message = self.message()
            self.add(
                "null key",
                {"wrong_key"},
                self.encode(message),
                message.sender,
                key=None,
                decodes=True,
            )

    def hub_only_kind(self, count: int) -> None:
        for _ in range(count):
            sender, recipient = self._pair()
            message = self.message(
                K.OVERDUE_NOTICE,
                sender=sender,
                recipient=recipient,
                requester=recipient,
                requested=sender,
            )
            self.add(
                "overdue notice from a node",
                {"wrong_party"},
                self.encode(message),
                sender,
                decodes=True,
            )

    def self_addressed(self, count: int) -> None:
        for _ in range(count):
            party = self.rng.choice(PARTIES)
            message = self.message(sender=party, recipient=party)
            self.add("addressed to itself", {"invalid"}, self.encode(message), party, decodes=True)

    def urgent_without_reason(self, count: int) -> None:
        for _ in range(count):
            message = self.message(K.REQUEST, urgency=Urgency.URGENT)
            self.add(
                "urgent without a reason",
                {"invalid"},
                self.encode(message),
                message.sender,
                decodes=True,
            )

    def request_id_reused(self, count: int) -> None:
        for original in self.rng.sample(self.valid, count):
            sender = self.topics.party_of(original.topic)
            assert sender is not None and original.key is not None
            request_id = original.key.decode()
            recipient = self.rng.choice([p for p in PARTIES if p is not sender])
            message = self.message(
                K.REQUEST,
                message_id=self._next_id("reuse"),
                request_id=request_id,
                sender=sender,
                recipient=recipient,
            )
            self.add(
                "request id already in use",
                {"bad_state"},
                self.encode(message),
                sender,
                after=original.message_id,
                decodes=True,
            )

    # ---- the whole -------------------------------------------------------------------

    def sequence(self) -> list[Input]:
        """Bad and valid inputs shuffled together; a reuse always after its original."""
        items = [*self.bad, *self.valid]
        self.rng.shuffle(items)
        position = {item.message_id: i for i, item in enumerate(items) if item.valid}
        for index in range(len(items)):
            item = items[index]
            if item.after is not None and index < position[item.after]:
                other = position[item.after]
                items[index], items[other] = items[other], items[index]
                position[item.after] = index
        return items


def build_corpus(seed: int, topics: Topics, wall: datetime) -> list[Input]:
    """The seeded corpus, in the order it is produced."""
    corpus = Corpus(seed, topics, wall)
    corpus.valid_requests(VALID_COUNT)
    corpus.random_bytes(80)
    corpus.truncated_json(80)
    corpus.wrong_types(80)
    corpus.unknown_kind(30)
    corpus.oversized(12)
    corpus.wrong_sender(30)
    corpus.missing_headers(per_header=8)
    corpus.inconsistent_headers(type_count=30, other_count=24)
    corpus.answers_to_nothing(40)
    corpus.wrong_language(30)
    corpus.h2_without_consent(30)
    corpus.wrong_key(30)
    corpus.wrong_partition(15)
    corpus.tombstones(20)
    corpus.null_key(15)
    corpus.hub_only_kind(10)
    corpus.self_addressed(5)
    corpus.urgent_without_reason(5)
    corpus.request_id_reused(10)
    return corpus.sequence()


def _replace(
    headers: Iterable[tuple[str, bytes]], name: str, value: bytes
) -> tuple[tuple[str, bytes], ...]:
    return tuple((k, value if k == name else v) for k, v in headers)


def _check_envelope(item: Input, decodes: bool) -> None:
    """The corpus is what it claims: an envelope fault fails `decode` for its reason; any
    other input decodes, so that it is the hub's later checks that refuse it."""
    try:
        decode(item.value, list(item.headers))
    except EnvelopeError as exc:
        assert not decodes and exc.reason in item.reasons, (item.category, exc.detail)
        return
    assert decodes, f"{item.category}: decodes, but should fail with {sorted(item.reasons)}"


# ---- the run ---------------------------------------------------------------------------


@dataclass
class Outcome:
    produced: list[Produced]
    deadletters: list[Record]
    inboxes: dict[str, list[Record]]
    audit: list[AuditRecord]
    metrics: str
    hub: HubProcess

    @property
    def bad(self) -> list[Produced]:
        return [p for p in self.produced if not p.input.valid]

    @property
    def valid(self) -> list[Produced]:
        return [p for p in self.produced if p.input.valid]

    def summary(self) -> str:
        """Per category: how many, and the reasons they were dead-lettered with."""
        by_place = {_source_of(r): r for r in self.deadletters}
        lines = []
        for category in sorted({p.input.category for p in self.bad}):
            items = [p for p in self.bad if p.input.category == category]
            reasons = Counter(
                _header(by_place[p.coordinates], DLQ_REASON)
                if p.coordinates in by_place
                else "NOT DEAD-LETTERED"
                for p in items
            )
            lines.append(f"  {category} ({len(items)}): {dict(reasons)}")
        return "\n".join(lines)


def _source_of(record: Record) -> tuple[str, int, int]:
    return (
        _header(record, DLQ_TOPIC),
        int(_header(record, DLQ_PARTITION)),
        int(_header(record, DLQ_OFFSET)),
    )


def _header(record: Record, name: str) -> str:
    """The last header called `name` (the hub's are appended after the originals), as
    text; "?" when there is none. Other headers may well not be UTF-8 here."""
    values = [bytes(value) for key, value in record.headers if key == name]
    return values[-1].decode() if values else "?"


def _sum(metrics: str, family: str, **labels: str) -> float:
    """The sum of a counter's `_total` samples whose labels include `labels`."""
    return sum(
        sample.value
        for metric in text_string_to_metric_families(metrics)
        if metric.name == family
        for sample in metric.samples
        if sample.name == f"{family}_total" and labels.items() <= sample.labels.items()
    )


async def _poll(probe: Callable[[], Any], ready: Callable[[Any], bool], wait: float) -> Any:
    """`probe()` (run in a thread) until `ready` says yes or `wait` seconds pass."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        value = await asyncio.to_thread(probe)
        if ready(value) or loop.time() > deadline:
            return value
        await asyncio.sleep(0.2)


def _audit_kind(record: Record) -> str:
    return AuditRecord.model_validate_json(record.value).event.value


@pytest.fixture(scope="module")
async def outcome(
    bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Outcome]:
    """The corpus through one hub, and everything the hub wrote."""
    topics = Topics("t" + uuid.uuid4().hex[:10], partitions=PARTITIONS)
    await create_topics(bootstrap, topics, list(PARTIES))
    corpus = build_corpus(SEED, topics, datetime.now(UTC))
    bad_count = sum(not item.valid for item in corpus)
    valid = [item for item in corpus if item.valid]
    with HubProcess(bootstrap, topics, tmp_path_factory.mktemp("bad-input")) as hub:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_request_size=4 * MAX_VALUE_BYTES,
        )
        await producer.start()
        try:
            futures = [  # one by one, so that each partition keeps the corpus order
                await producer.send(
                    item.topic,
                    value=item.value,
                    key=item.key,
                    headers=list(item.headers),
                    partition=item.partition,
                )
                for item in corpus
            ]
            metadata = await asyncio.gather(*futures)
        finally:
            await producer.stop()
        produced = [
            Produced(item, meta.partition, meta.offset)
            for item, meta in zip(corpus, metadata, strict=True)
        ]
        wanted: dict[str, set[str]] = {}
        for item in valid:
            assert item.recipient is not None
            wanted.setdefault(topics.inbox(item.recipient), set()).add(item.message_id)
        try:
            await read_until(
                bootstrap, topics.deadletter, lambda rs: len(rs) >= bad_count, WAIT_SECONDS
            )
            for topic, ids in wanted.items():

                def all_in(rs: list[Record], ids: set[str] = ids) -> bool:
                    return ids <= {_header(r, "ce_id") for r in rs}

                await read_until(bootstrap, topic, all_in, WAIT_SECONDS)
            await read_until(
                bootstrap,
                topics.audit,
                lambda rs: Counter(map(_audit_kind, rs))["rejected"] >= bad_count,
                WAIT_SECONDS,
            )
        except TimeoutError as exc:
            pytest.fail(f"the hub did not finish the corpus: {exc}\n{hub.log()[-3000:]}")
        metrics = await _poll(
            hub.metrics,
            lambda text: _sum(text, "onestop_hub_deadletters") >= bad_count,
            WAIT_SECONDS,
        )
        yield Outcome(
            produced=produced,
            deadletters=await read_all(bootstrap, topics.deadletter),
            inboxes={topics.inbox(p): await read_all(bootstrap, topics.inbox(p)) for p in PARTIES},
            audit=[
                AuditRecord.model_validate_json(r.value)
                for r in await read_all(bootstrap, topics.audit)
            ],
            metrics=metrics,
            hub=hub,
        )


# ---- the checks ------------------------------------------------------------------------


def test_the_corpus_is_large_varied_and_deterministic() -> None:
    topics = Topics("corpus", PARTITIONS)
    wall = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    corpus = build_corpus(SEED, topics, wall)

    assert corpus == build_corpus(SEED, topics, wall)
    bad = [item for item in corpus if not item.valid]
    assert len(bad) >= 500
    assert sum(item.valid for item in corpus) == VALID_COUNT
    assert len({item.topic for item in bad}) == len(PARTIES)
    reasons = Counter(reason for item in bad for reason in item.reasons)
    assert set(reasons) >= {
        "undecodable",
        "invalid",
        "oversized",
        "missing_header",
        "invalid_header",
        "wrong_sender",
        "wrong_party",
        "wrong_key",
        "wrong_partition",
        "unknown_request",
        "wrong_language",
        "handling_code",
        "bad_state",
    }


def test_every_bad_input_is_dead_lettered_once_and_byte_identical(outcome: Outcome) -> None:
    by_place: dict[tuple[str, int, int], list[Record]] = {}
    for record in outcome.deadletters:
        by_place.setdefault(_source_of(record), []).append(record)
    problems: list[str] = []
    for item in outcome.bad:
        found = by_place.get(item.coordinates, [])
        if len(found) != 1:
            problems.append(f"{item.input.category} at {item.coordinates}: {len(found)} found")
            continue
        record = found[0]
        headers = [(name, bytes(value)) for name, value in record.headers]
        originals = list(item.input.headers)
        if record.key != item.input.key:
            problems.append(f"{item.input.category}: key {record.key!r} != {item.input.key!r}")
        if record.value != item.input.value:
            problems.append(f"{item.input.category} at {item.coordinates}: value differs")
        if headers[: len(originals)] != originals:
            problems.append(f"{item.input.category}: original headers not kept as they were")
        appended = headers[len(originals) :]
        if [name for name, _ in appended] != DLQ_HEADERS:
            problems.append(f"{item.input.category}: hub headers {[n for n, _ in appended]}")
            continue
        added = {name: value.decode() for name, value in appended}
        topic, partition, offset = item.coordinates
        expected_id = f"{topic}/{partition}/{offset}"
        if (added[DLQ_TOPIC], added[DLQ_PARTITION], added[DLQ_OFFSET], added[DLQ_ID]) != (
            topic,
            str(partition),
            str(offset),
            expected_id,
        ):
            problems.append(f"{item.input.category}: points at {added[DLQ_ID]}, not {expected_id}")
        if not added[DLQ_REASON] or not added[DLQ_DETAIL]:
            problems.append(f"{item.input.category}: no reason given")
    unexpected = set(by_place) - {item.coordinates for item in outcome.bad}
    assert not problems and not unexpected, (
        f"{len(problems)} problems, first ones: {problems[:15]}\n"
        f"dead letters for no bad input: {sorted(unexpected)[:10]}\n"
        f"reasons by category:\n{outcome.summary()}"
    )
    assert len(outcome.deadletters) == len(outcome.bad)


def test_each_bad_input_is_refused_for_its_own_reason(outcome: Outcome) -> None:
    by_place = {_source_of(r): r for r in outcome.deadletters}
    wrong = [
        (item.input.category, _header(by_place[item.coordinates], DLQ_REASON))
        for item in outcome.bad
        if item.coordinates in by_place
        and _header(by_place[item.coordinates], DLQ_REASON) not in item.input.reasons
    ]
    assert not wrong, f"unexpected reasons: {Counter(wrong)}\n{outcome.summary()}"


def test_every_valid_request_is_delivered_exactly_once(outcome: Outcome) -> None:
    expected: Counter[tuple[str, str]] = Counter()
    for item in outcome.valid:
        assert item.input.recipient is not None
        expected[(item.input.message_id, item.input.recipient.value)] += 1
    delivered: Counter[tuple[str, str]] = Counter()
    values = {item.input.message_id: item.input.value for item in outcome.valid}
    for topic, records in outcome.inboxes.items():
        for record in records:
            message_id = _header(record, "ce_id")
            delivered[(message_id, topic.rpartition(".")[2])] += 1
            assert record.value == values.get(message_id), f"{message_id} altered or not valid"
    assert delivered == expected, (
        f"missing: {sorted(expected - delivered)[:10]}, extra: {sorted(delivered - expected)[:10]}"
    )


def test_the_metrics_count_the_dead_letters_and_the_deliveries(outcome: Outcome) -> None:
    reasons = Counter(_header(r, DLQ_REASON) for r in outcome.deadletters)

    assert _sum(outcome.metrics, "onestop_hub_deadletters") == len(outcome.bad), outcome.summary()
    for reason, count in reasons.items():
        assert _sum(outcome.metrics, "onestop_hub_deadletters", reason=reason) == count
    assert _sum(outcome.metrics, "onestop_hub_messages", outcome="rejected") == len(outcome.bad)
    assert _sum(outcome.metrics, "onestop_hub_messages", outcome="delivered") == VALID_COUNT
    assert (
        _sum(outcome.metrics, "onestop_hub_messages", kind="request", outcome="delivered")
        == VALID_COUNT
    )


def test_every_rejection_is_on_an_intact_audit_trail(outcome: Outcome) -> None:
    rejected = Counter(
        r.details.wire()["deadletter_id"] for r in outcome.audit if r.event is AuditEvent.REJECTED
    )
    expected = Counter("/".join(map(str, item.coordinates)) for item in outcome.bad)
    assert rejected == expected
    delivered = [r for r in outcome.audit if r.disclosed]
    assert sorted(r.message_id or "" for r in delivered) == sorted(
        item.input.message_id for item in outcome.valid
    )
    for partition in sorted({r.partition for r in outcome.audit}):
        report = verify_chain(partition, [r for r in outcome.audit if r.partition == partition])
        assert report.intact, [str(fault) for fault in report.faults[:5]]


def test_the_hub_is_still_running(outcome: Outcome) -> None:
    process = outcome.hub.process
    assert process is not None
    assert process.poll() is None, outcome.hub.log()[-3000:]


# ---- a malformed ce_time ---------------------------------------------------------------
# Once it was accepted and then broke the hub's metrics after the batch was written, so the
# batch was processed again and its requests never reached the deadline index.


async def test_a_malformed_ce_time_loses_no_deadline(
    bootstrap: str, namespace: str, tmp_path: Path
) -> None:
    """Of two requests on one partition (so that they likely share a batch), the one with
    `ce_time: yesterday` is dead-lettered and the well-formed one, past its one-second
    limit, flagged overdue: the bad one costs the other nothing."""
    topics = Topics(namespace, PARTITIONS)
    await create_topics(bootstrap, topics, [C.PL, C.DE])
    offset = await publish_clock(
        bootstrap,
        topics,
        ClockCommand(
            exercise_id=namespace,
            action=ClockAction.START,
            issued_at=datetime.now(UTC),
            setup=ExerciseSetup(
                rules=DIRECTIVE_2023_977.model_copy(update={"non_urgent_direct": 1.0})
            ),
        ),
    )
    extensions = {"clockoffset": str(offset + 1)}
    same_partition = (f"time-{i}" for i in range(1000))
    malformed, wellformed = [
        rid for rid in same_partition if partition_for(rid.encode(), PARTITIONS) == 0
    ][:2]
    with HubProcess(bootstrap, topics, tmp_path) as hub:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=50)
        await producer.start()
        try:
            warm_up = make_message(  # urgent: eight hours, never overdue here
                K.REQUEST,
                message_id="warm-up",
                request_id="warm-up",
                urgency=Urgency.URGENT,
                urgency_reason="imminent threat to life",
            )
            record = encode(warm_up, extensions=extensions)
            await producer.send_and_wait(
                topics.outbox(C.PL), record.value, key=record.key, headers=record.headers
            )
            await read_until(bootstrap, topics.inbox(C.DE), lambda rs: len(rs) >= 1, WAIT_SECONDS)
            futures = []
            for request_id in (malformed, wellformed):
                message = make_message(K.REQUEST, message_id=request_id, request_id=request_id)
                record = encode(message, extensions=extensions)
                headers = record.headers
                if request_id == malformed:
                    headers = list(_replace(headers, "ce_time", b"yesterday"))
                futures.append(
                    await producer.send(
                        topics.outbox(C.PL), record.value, key=record.key, headers=headers
                    )
                )
            await asyncio.gather(*futures)
        finally:
            await producer.stop()

        async def fates() -> tuple[set[str], set[str]]:
            notices = await read_all(bootstrap, topics.inbox(C.PL))
            dead = await read_all(bootstrap, topics.deadletter)
            return (
                {_header(r, "ce_subject") for r in notices if _header(r, "ce_source") == "/hub"},
                {_header(r, "ce_id") for r in dead},
            )

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 8.0
        overdue, dead = await fates()
        while ({malformed} - dead or {wellformed} - overdue) and loop.time() < deadline:
            await asyncio.sleep(0.2)
            overdue, dead = await fates()
        metrics = await asyncio.to_thread(hub.metrics)

    assert malformed in dead and malformed not in overdue, hub.log()[-2000:]
    assert wellformed in overdue and wellformed not in dead, hub.log()[-2000:]
    assert _sum(metrics, "onestop_hub_messages", outcome="duplicate") == 0
