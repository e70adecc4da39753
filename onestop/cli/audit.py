"""`onestop audit verify|export`, `onestop stats` and `onestop report`: everything read
back from the audit trail, which is the single source of truth.

Exit codes: 0 success (trail intact), 1 the trail has faults, 2 bad input (missing file or
topic, no broker).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Final

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from onestop.audit.source import (
    AuditSourceError,
    AuditTrail,
    combined_report,
    is_file_source,
    load_audit,
    verify_trail,
    write_jsonl,
)
from onestop.audit.statistics import (
    DIRECTIVE_KINDS,
    Art18Statistics,
    UrgencySplit,
    art18_statistics,
)
from onestop.cli.common import (
    BootstrapOption,
    CredentialsOption,
    NamespaceOption,
    PrincipalOption,
    fail,
)
from onestop.kafka.acls import Operation
from onestop.kafka.credentials import resolve_logins
from onestop.kafka.errors import BrokerError
from onestop.kafka.rights import Need, check_rights
from schemas.access import READER, CredentialsError, KafkaAccess
from schemas.messages import OPENING_KINDS
from schemas.refusals import AccessRefused
from schemas.topics import Topics

EXIT_INTACT: Final = 0
EXIT_FAULTS: Final = 1
EXIT_BAD_INPUT: Final = 2

audit_app = typer.Typer(
    help="Check and export the hash-chained audit trail (Directive 2016/680 Art. 25).",
    no_args_is_help=True,
)

SourceOption = Annotated[
    str | None,
    typer.Option(
        "--source",
        help="Audit topic name or JSONL file (a path that exists or ends with .jsonl); "
        "default: the topic <namespace>.audit",
    ),
]


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def load_trail(
    source: str | None,
    namespace: str,
    bootstrap: str | None,
    credentials: Path | None = None,
    principal: str | None = None,
) -> AuditTrail:
    """The trail named by `source` (default `<namespace>.audit`); a person-readable
    error and exit code 2 when it cannot be read. Kafka is looked up only for a topic,
    on a secure broker as `reader` (or `principal`)."""
    name = source or Topics(namespace).audit
    if is_file_source(name):
        try:
            return asyncio.run(load_audit(name, None))
        except AuditSourceError as exc:
            fail(str(exc), EXIT_BAD_INPUT)
    try:
        access = resolve_logins(bootstrap, credentials).access(principal or READER)
    except BrokerError as exc:
        fail(f"audit topic {name}: no Kafka broker: {exc}", EXIT_BAD_INPUT)
    except CredentialsError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    try:
        return asyncio.run(_read_topic(name, access))
    except (AuditSourceError, AccessRefused) as exc:
        fail(str(exc), EXIT_BAD_INPUT)


async def _read_topic(name: str, access: KafkaAccess) -> AuditTrail:
    await check_rights(access, [Need(name, Operation.READ)], unknown_ok=True)
    return await load_audit(name, access)


@audit_app.command()
def verify(
    bootstrap: BootstrapOption = None,
    namespace: NamespaceOption = "onestop",
    source: SourceOption = None,
    credentials: CredentialsOption = None,
    principal: PrincipalOption = None,
) -> None:
    """Check the audit trail's hash chains: exit 0 intact, 1 faults, 2 bad input.

    An altered, removed, inserted or reordered record shows as a fault, named by
    partition, position and record id."""
    trail = load_trail(source, namespace, bootstrap, credentials, principal)
    reports = verify_trail(trail)
    console = _console()
    table = Table(title=f"audit trail {trail.source}", title_justify="left")
    for column in ("partition", "records", "unique", "duplicates", "faults"):
        table.add_column(column, justify="right")
    for partition, report in reports.items():
        table.add_row(
            str(partition),
            str(report.records),
            str(report.unique_records),
            str(report.duplicates),
            str(len(report.faults)),
        )
    console.print(table)
    total = combined_report(reports)
    if total.intact:
        empty = " (empty: no records)" if total.records == 0 else ""
        console.print(Text(f"audit trail intact{empty}", style="bold green"))
        raise typer.Exit(EXIT_INTACT)
    console.print(Text(f"audit trail broken: {len(total.faults)} fault(s)", style="bold red"))
    for fault in total.faults:
        console.print(Text(str(fault)))
    raise typer.Exit(EXIT_FAULTS)


@audit_app.command()
def export(
    file: Annotated[Path, typer.Argument(help="JSONL file to write, one record a line")],
    bootstrap: BootstrapOption = None,
    namespace: NamespaceOption = "onestop",
    source: SourceOption = None,
    credentials: CredentialsOption = None,
    principal: PrincipalOption = None,
) -> None:
    """Write the audit trail to a JSONL file, partition by partition in chain order."""
    trail = load_trail(source, namespace, bootstrap, credentials, principal)
    try:
        lines = write_jsonl(trail, file)
    except OSError as exc:
        fail(f"cannot write {file}: {exc}", EXIT_BAD_INPUT)
    typer.echo(f"wrote {lines} records of {trail.source} to {file}")


def _compact_table(title: str) -> Table:
    """A rich table of figures, title on the left, no outer border (fits 80 columns)."""
    return Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False
    )


def _statistics_tables(stats: Art18Statistics) -> list[Table]:
    """The Art. 18 figures as rich tables that fit 80 columns."""
    parties = [*stats.countries, stats.totals]
    exchanged = _compact_table(f"Art. 18 requests, as of {stats.as_of or '-'} (exercise time)")
    exchanged.add_column("party")
    for header in (
        "sent", "received\nurgent", "received\nnon-urg.", "received", "answered\nurgent",
        "answered\nnon-urg.", "answered",
    ):  # fmt: skip
        exchanged.add_column(header, justify="right")
    refused = _compact_table("refusals and judicial authorisation (requested party)")
    refused.add_column("party")
    for header in ("refused", "judicial\ndelays", "limit exceeded\n(judicial)"):
        refused.add_column(header, justify="right")
    for figures in parties:
        style = "bold" if figures is stats.totals else None
        exchanged.add_row(
            figures.country,
            str(figures.requests_sent),
            str(figures.requests_received.urgent),
            str(figures.requests_received.non_urgent),
            str(figures.requests_received.total),
            str(figures.requests_answered.urgent),
            str(figures.requests_answered.non_urgent),
            str(figures.requests_answered.total),
            style=style,
        )
        refused.add_row(
            figures.country,
            str(figures.refusals),
            str(figures.judicial_delays),
            str(figures.time_limits_exceeded_judicial),
            style=style,
        )
    by_requester = _compact_table("received / answered by requesting country")
    by_requester.add_column("requested")
    by_requester.add_column("requesting")
    for header in ("received\nurgent", "received\nnon-urg.", "answered\nurgent",
                   "answered\nnon-urg."):  # fmt: skip
        by_requester.add_column(header, justify="right")
    for figures in stats.countries:
        for requester, received in figures.requests_received_by_requester.items():
            answered = figures.requests_answered_by_requester.get(requester, UrgencySplit())
            by_requester.add_row(
                figures.country,
                requester,
                str(received.urgent),
                str(received.non_urgent),
                str(answered.urgent),
                str(answered.non_urgent),
            )
    grounds = _compact_table("refusals by ground")
    grounds.add_column("requested")
    grounds.add_column("ground")
    grounds.add_column("refusals", justify="right")
    for figures in stats.countries:
        for ground, count in figures.refusals_by_ground.items():
            grounds.add_row(figures.country, ground, str(count))
    return [exchanged, refused, by_requester, grounds]


def stats(
    bootstrap: BootstrapOption = None,
    namespace: NamespaceOption = "onestop",
    source: SourceOption = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Also write the figures to this JSON file")
    ] = None,
    all_kinds: Annotated[
        bool,
        typer.Option(
            "--all-kinds",
            help="Count SIRENE forms and Prüm queries as requests too (default: "
            "Directive 2023/977 requests only)",
        ),
    ] = False,
    credentials: CredentialsOption = None,
    principal: PrincipalOption = None,
) -> None:
    """Print the Art. 18 statistics (Directive 2023/977) computed from the audit trail."""
    trail = load_trail(source, namespace, bootstrap, credentials, principal)
    kinds = frozenset(OPENING_KINDS) if all_kinds else DIRECTIVE_KINDS
    figures = art18_statistics(trail.records(), kinds=kinds)
    console = _console()
    console.print(Text(f"kinds counted as requests: {', '.join(figures.kinds)}"))
    for table in _statistics_tables(figures):
        console.print()
        console.print(table)
    if json_file is not None:
        try:
            json_file.parent.mkdir(parents=True, exist_ok=True)
            json_file.write_text(figures.model_dump_json(indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {json_file}: {exc}", EXIT_BAD_INPUT)
        console.print(Text(f"wrote {json_file}"))


def report(
    source: Annotated[
        str, typer.Argument(help="Audit topic name or JSONL file the report is rebuilt from")
    ],
    out: Annotated[Path, typer.Option("--out", help="Directory for report.json + .html")] = Path(
        "report"
    ),
    bootstrap: BootstrapOption = None,
    name: Annotated[str | None, typer.Option(help="Exercise name shown as the title")] = None,
    credentials: CredentialsOption = None,
    principal: PrincipalOption = None,
) -> None:
    """Rebuild report.json and report.html from an existing audit topic or JSONL file."""
    from onestop.audit.report import build_report  # with its plots: only for a report
    from onestop.audit.report_html import write_report

    trail = load_trail(source, "onestop", bootstrap, credentials, principal)
    chain = combined_report(verify_trail(trail))
    exercise: dict[str, object] = {"audit_source": trail.source}
    if name:
        exercise["name"] = name
    built = build_report(trail.records(), exercise=exercise, chain=chain)
    try:
        json_path, html_path = write_report(built, out)
    except OSError as exc:
        fail(f"cannot write the report to {out}: {exc}", EXIT_BAD_INPUT)
    typer.echo(str(json_path))
    typer.echo(str(html_path))
    if not chain.intact:
        _console().print(
            Text(f"warning: the audit trail has {len(chain.faults)} fault(s)", style="yellow")
        )
