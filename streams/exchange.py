"""The one-stop shop's decisions for one input record (pure, no I/O).

`Exchange.receive` takes a record from a node's outbox and the open-request store, and
returns what to write: deliveries, dead letters, audit records (unsealed: the auditor
chains them) and the new state. `Exchange.deadline_due` does the same for a deadline that
fell due. Every output id is derived from the input, so a redelivered input produces the
very same ids and is recognised downstream.
"""

from __future__ import annotations

import hashlib
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.audit import AuditEvent, AuditRecord, Operation, audit_record_id, exercise_iso
from schemas.audit_details import (
    AnswerDetails,
    AuditDetails,
    OverdueDetails,
    ReceivedDetails,
)
from schemas.deadlines import RuleSet, time_limit
from schemas.enums import Accessibility, Channel, Country, RequestState, Urgency
from schemas.envelope import (
    HUB_SOURCE,
    EnvelopeError,
    KafkaRecord,
    decode_with,
    encode,
    header_map,
)
from schemas.messages import (
    ONE_WAY_KINDS,
    OPENING_KINDS,
    MessageBase,
    OverdueNotice,
    Refusal,
    kind_of,
)
from schemas.topics import Topics
from schemas.trusted import trusted
from streams.deadletters import HUB_ACTOR, dead_letter
from streams.effects import Effects, Inbound, Outbound
from streams.lifecycle import LifecycleError, RequestEntry, apply_answer, mark_overdue
from streams.routing import NoChannelError, RoutingConfig, route
from streams.validation import (
    Rejection,
    check_answer,
    check_opening,
    check_placement,
    check_sender,
)

Store = MutableMapping[str, RequestEntry]


@dataclass
class Exchange:
    """The routing, validating, timing and auditing of the hub, over a request store."""

    topics: Topics
    rules: RuleSet
    routing: RoutingConfig
    store: Store
    parties: frozenset[Country] = frozenset(Country)  # whose inboxes this hub writes
    exercise_id: str | None = None  # the running exercise, stamped on requests it opens

    # ---- input from a node -------------------------------------------------------------

    def receive(self, inbound: Inbound, now: datetime, wall: datetime) -> Effects:
        """Process one outbox record received at exercise time `now`, wall time `wall`."""
        party = self.topics.party_of(inbound.topic)
        if party is None or inbound.topic != self.topics.outbox(party):
            return self._reject(inbound, Rejection("invalid", "not an outbox topic"), now, wall)
        try:
            attrs = header_map(inbound.headers)
            message = decode_with(inbound.value, attrs)
        except EnvelopeError as exc:
            return self._reject(inbound, Rejection(exc.reason, exc.detail), now, wall)
        rejection = check_sender(message, party, attrs["ce_source"]) or check_placement(
            inbound.key, inbound.partition, message.request_id, self.topics.partitions
        )
        if rejection:
            return self._reject(inbound, rejection, now, wall, message)
        if message.recipient not in self.parties:
            served = Rejection(
                "unknown_recipient", f"this hub has no inbox for {message.recipient.value}"
            )
            return self._reject(inbound, served, now, wall, message)
        kind = kind_of(message)
        if kind in OPENING_KINDS or kind in ONE_WAY_KINDS:
            return self._open(inbound, message, now, wall, attrs.get("ce_time"))
        return self._answer(inbound, message, now, wall)

    def _open(
        self,
        inbound: Inbound,
        message: MessageBase,
        now: datetime,
        wall: datetime,
        ce_time: str | None,
    ) -> Effects:
        kind = kind_of(message)
        existing = self.store.get(message.request_id)
        if existing is not None:
            if existing.opened_by == message.message_id:
                return Effects(duplicate=True, kind=kind)
            return self._reject(
                inbound,
                Rejection("bad_state", f"request id {message.request_id} is already in use"),
                now,
                wall,
                message,
            )
        rejection = check_opening(message)
        if rejection:
            return self._reject(inbound, rejection, now, wall, message)
        try:
            decision = route(message, self.routing)
        except NoChannelError as exc:
            return self._reject(inbound, Rejection("no_channel", str(exc)), now, wall, message)
        urgency = getattr(message, "urgency", None)
        accessibility = getattr(message, "accessibility", None)
        opens = kind in OPENING_KINDS
        limit = (
            time_limit(
                kind,
                decision.fallback_from or decision.channel,
                urgency or Urgency.NON_URGENT,
                accessibility or Accessibility.DIRECT,
                self.rules,
                message.sender,
                message.recipient,
            )
            if opens
            else None
        )
        seconds = limit.seconds if limit is not None else None
        request = trusted(
            RequestEntry,
            request_id=message.request_id,
            case_id=message.case_id,
            kind=kind,
            opened_by=message.message_id,
            requester=message.sender,
            requested=message.recipient,
            language=message.language,
            channel=decision.channel,
            urgency=urgency,
            accessibility=accessibility,
            partition=inbound.partition,
            state=RequestState.DELIVERED,
            received_at=now,
            limit_seconds=seconds,
            running_since=now if seconds is not None else None,
            settled_at=None,
            exercise_id=self.exercise_id,
        )
        self.store[request.request_id] = request
        effects = Effects(kind=kind, opened=request if opens else None)
        effects.outputs.append(self._deliver(message, decision.channel, inbound, request))
        received: dict[str, Any] = {
            "accessibility": accessibility,
            "route_reason": decision.reason,
            "handling_code": message.handling_code,
            "language": message.language,
            "sent_at": exercise_iso(message.sent_at),
            "ce_time": ce_time,
        }
        if decision.fallback_from is not None:
            received["fallback_from"] = decision.fallback_from
        chosen = getattr(message, "requested_channel", None)
        if chosen is not None:
            received["requested_channel"] = chosen
            if chosen is not decision.channel:
                received["deviation"] = (
                    f"{message.sender.value} chose {chosen.value}; Art. 13 gives "
                    f"{decision.channel.value}: {decision.reason}"
                )
        if limit is not None:
            received["limit_seconds"] = seconds
            received["limit_basis"] = limit.basis
            received["limit_why"] = limit.why
            if request.deadline is not None:
                received["deadline"] = request.deadline
        received["disclosure"] = f"disclosed to {message.recipient.value}: {decision.reason}"
        effects.audit.append(
            self._record(
                inbound,
                AuditEvent.RECEIVED,
                Operation.COLLECTION,
                message,
                request,
                now,
                wall,
                justification=f"{kind.value} received from {message.sender.value} (Art. 14)",
                before=RequestState.SUBMITTED,
                after=RequestState.DELIVERED,
                recipients=[message.recipient],
                details=trusted(ReceivedDetails, **_request_fields(request, inbound), **received),
            )
        )
        return effects

    def _answer(
        self, inbound: Inbound, message: MessageBase, now: datetime, wall: datetime
    ) -> Effects:
        kind = kind_of(message)
        request = self.store.get(message.request_id)
        if request is None or request.one_way:
            return self._reject(
                inbound,
                Rejection("unknown_request", f"no request {message.request_id} to answer"),
                now,
                wall,
                message,
            )
        if message.message_id in request.handled:
            return Effects(duplicate=True, kind=kind)
        rejection = check_answer(message, request)
        if rejection:
            return self._reject(inbound, rejection, now, wall, message)
        grounds = message.grounds if isinstance(message, Refusal) else None
        try:
            apply_answer(request, kind, message.message_id, now, grounds)  # allowed at all?
        except LifecycleError as exc:
            return self._reject(inbound, Rejection("bad_state", str(exc)), now, wall, message)
        # An answer after the deadline finds the request overdue even when the deadline
        # check has not come round yet: the flag comes first, as it would have.
        deadline = request.deadline
        effects = Effects(kind=kind)
        if deadline is not None and deadline < now and not request.overdue:
            effects = self._flag_overdue(request, now, wall)
            effects.kind = kind
            request = self.store[request.request_id]
        transition = apply_answer(request, kind, message.message_id, now, grounds)
        after = transition.after
        self.store[after.request_id] = after
        effects.settled = after if after.settled else None
        effects.outputs.append(self._deliver(message, request.channel, inbound, after))
        answer: dict[str, Any] = {}
        if grounds:
            answer["grounds"] = list(grounds)
        if after.settled:
            answer["answer_seconds"] = (now - request.received_at).total_seconds()
            deadline = request.deadline
            answer["on_time"] = not request.overdue and (deadline is None or now <= deadline)
        if after.deadline is not None:
            answer["deadline"] = after.deadline
        if expected := getattr(message, "expected_delay_hours", None):
            answer["expected_delay_hours"] = expected
            answer["reason"] = getattr(message, "reason", "")
        effects.audit.append(
            self._record(
                inbound,
                transition.event,
                Operation.ALTERATION if not after.settled else Operation.COLLECTION,
                message,
                after,
                now,
                wall,
                justification=f"{kind.value} from {message.sender.value} on request "
                f"{request.request_id}",
                before=request.state,
                after=after.state,
                recipients=[message.recipient],
                details=trusted(
                    AnswerDetails,
                    **_request_fields(after, inbound),
                    **answer,
                    disclosure=f"{kind.value} disclosed to {message.recipient.value}",
                ),
            )
        )
        return effects

    # ---- deadlines ---------------------------------------------------------------------

    def deadline_due(self, request_id: str, now: datetime, wall: datetime) -> Effects:
        """Flag `request_id` overdue if its deadline has passed at exercise time `now`;
        nothing happens for a request answered, paused or already flagged meanwhile."""
        request = self.store.get(request_id)
        if request is None or request.exercise_id != self.exercise_id:
            return Effects()  # gone, or of an exercise that is over: its clock stopped
        if mark_overdue(request, now) is None:
            return Effects()
        return self._flag_overdue(request, now, wall)

    def _flag_overdue(self, request: RequestEntry, now: datetime, wall: datetime) -> Effects:
        """`request`, past its deadline at exercise time `now`, flagged overdue: the
        notices to both parties and the audit record."""
        request_id = request.request_id
        flagged = request.model_copy(update={"overdue": True})
        self.store[request_id] = flagged
        deadline = request.deadline
        assert deadline is not None, "only a request with a running clock falls overdue"
        effects = Effects(kind=request.kind, overdue=flagged)
        event_id = f"{request_id}.overdue"
        for party, other in (
            (request.requester, request.requested),
            (request.requested, request.requester),
        ):
            notice = OverdueNotice(
                message_id=notice_id(request_id, party),
                case_id=request.case_id,
                request_id=request_id,
                sender=other,
                recipient=party,
                language=request.language,
                sent_at=now,
                deadline=deadline,
                requester=request.requester,
                requested=request.requested,
            )
            effects.outputs.append(
                Outbound(
                    self.topics.inbox(party),
                    encode(
                        notice,
                        source=HUB_SOURCE,
                        wall_time=wall,
                        extensions={"channel": request.channel.value},
                    ),
                )
            )
        effects.audit.append(
            AuditRecord(
                record_id=audit_record_id(event_id, AuditEvent.OVERDUE),
                partition=request.partition,
                seq=0,
                prev_hash="",
                operation=Operation.ALTERATION,
                event=AuditEvent.OVERDUE,
                actor=HUB_ACTOR,
                wall_time=wall,
                # Dated at the deadline it passed, whenever the hub came round to flag it
                # (its wall time says when): the same record on every path and every run.
                exercise_time=deadline,
                justification=f"time limit of request {request_id} exceeded (Art. 5); "
                f"{request.requester.value} and {request.requested.value} notified",
                request_id=request_id,
                case_id=request.case_id,
                kind=request.kind,
                sender=request.requester,
                recipient=request.requested,
                recipients=[request.requester, request.requested],
                channel=request.channel,
                state_before=request.state,
                state_after=flagged.state,
                details=OverdueDetails(
                    **_request_fields(request), deadline=deadline, delayed=request.delayed
                ),
            )
        )
        return effects

    # ---- helpers -----------------------------------------------------------------------

    def _reject(
        self,
        inbound: Inbound,
        rejection: Rejection,
        now: datetime,
        wall: datetime,
        message: MessageBase | None = None,
    ) -> Effects:
        return dead_letter(self.topics, inbound, rejection, now, wall, message)

    def _deliver(
        self, message: MessageBase, channel: Channel, inbound: Inbound, request: RequestEntry
    ) -> Outbound:
        """The inbox copy: the very record the sender wrote (value, CloudEvents headers and
        timestamp untouched: the recipient times its answer from the hub's receipt), plus
        the channel and deadline the hub decided."""
        added = [("ce_channel", channel.value.encode())]
        if request.deadline is not None:
            added.append(("ce_deadline", exercise_iso(request.deadline).encode()))
        hub_names = {name for name, _ in added} | {"ce_clockoffset"}
        headers = [(k, v) for k, v in inbound.headers if k not in hub_names]
        return Outbound(
            self.topics.inbox(message.recipient),
            KafkaRecord(inbound.key, inbound.value or b"", [*headers, *added]),
            partition=inbound.partition,
            timestamp=inbound.timestamp,
        )

    def _record(
        self,
        inbound: Inbound,
        event: AuditEvent,
        operation: Operation,
        message: MessageBase,
        request: RequestEntry,
        now: datetime,
        wall: datetime,
        *,
        justification: str,
        before: RequestState | None,
        after: RequestState | None,
        recipients: list[Country] | None = None,
        details: AuditDetails,
    ) -> AuditRecord:
        """A record of the hot path, built without validation: every value comes from the
        validated message, the request entry or the hub's own decisions (the test suite
        validates what this builds against the model)."""
        return trusted(
            AuditRecord,
            record_id=audit_record_id(message.message_id, event),
            partition=inbound.partition,
            seq=0,
            prev_hash="",
            operation=operation,
            event=event,
            actor=HUB_ACTOR,
            wall_time=wall,
            exercise_time=now,
            justification=justification,
            request_id=request.request_id,
            case_id=message.case_id,
            message_id=message.message_id,
            kind=kind_of(message),
            sender=message.sender,
            recipient=message.recipient,
            recipients=recipients or [],
            channel=request.channel,
            state_before=before,
            state_after=after,
            details=details,
        )


def _request_fields(request: RequestEntry, inbound: Inbound | None = None) -> dict[str, Any]:
    """The fields of `Details` every record about `request` carries, and the input record
    it came from (an overdue flag comes from none)."""
    fields: dict[str, Any] = {"request_kind": request.kind, "urgency": request.urgency}
    if inbound is not None:
        fields["input"] = f"{inbound.topic}/{inbound.partition}/{inbound.offset}"
    return fields


def notice_id(request_id: str, party: Country) -> str:
    """The deterministic id of the overdue notice for `party`, short whatever the request
    id's length."""
    digest = hashlib.sha256(request_id.encode()).hexdigest()[:40]
    return f"OVD-{party.value}-{digest}"
