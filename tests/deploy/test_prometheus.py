"""The observability files against a real Prometheus: it scrapes a real hub and real
simulated nodes every second while load, answers and dead letters flow; then every query
of the Grafana dashboard and every recording rule must return data, every alert rule must
evaluate, and promtool must accept the metrics and the rules.

Needs the `prometheus` and `promtool` binaries (Debian package `prometheus`; `make test`
installs it). Without them the test is skipped, except under CI, where it fails."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import start_http_server

from onestop.exercise.clock_control import publish_clock
from onestop.kafka.probe import free_port
from onestop.paths import PROJECT_ROOT
from producers.host import NodeHost
from producers.load.generator import run_load
from producers.load.settings import LoadKind, LoadSettings, load_nodes
from schemas.clock import ClockAction, ClockCommand
from schemas.enums import Country
from schemas.profiles import AnswerTime, NodeProfile
from schemas.topics import Topics
from tests.support import HubProcess, create_topics

REPO = PROJECT_ROOT
RULES = REPO / "deploy" / "prometheus" / "rules.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "onestop.json"
NODES = 3
PROMPT = NodeProfile(
    answer_time=AnswerTime(median_minutes=60, sigma=0),
    urgent_answer_time=AnswerTime(median_minutes=60, sigma=0),
    refusal_share=0,
    clarification_share=0,
    judicial_share=0,
    partial_share=0,
    acknowledge=True,
)


def _binaries() -> tuple[str, str]:
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if prometheus and promtool:
        return prometheus, promtool
    if os.environ.get("CI"):
        pytest.fail("prometheus/promtool not installed (Debian package `prometheus`)")
    pytest.skip("prometheus/promtool not installed (Debian package `prometheus`)")


def dashboard_exprs() -> list[tuple[str, str]]:
    """(panel title, expr) of every query of the dashboard, rows included."""
    found: list[tuple[str, str]] = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for panel in panels:
            for target in panel.get("targets", []):
                if target.get("expr"):
                    found.append((panel.get("title", "?"), target["expr"]))
            walk(panel.get("panels", []))

    walk(json.loads(DASHBOARD.read_text())["panels"])
    return found


def rule_exprs() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(name, expr) of the recording rules and of the alert rules of rules.yml."""
    recording: list[tuple[str, str]] = []
    alerts: list[tuple[str, str]] = []
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            if "record" in rule:
                recording.append((rule["record"], rule["expr"]))
            else:
                alerts.append((rule["alert"], rule["expr"]))
    return recording, alerts


class Prometheus:
    """A Prometheus server on 127.0.0.1 scraping the given targets every second."""

    def __init__(self, binary: str, workdir: Path, targets: dict[str, int]) -> None:
        self.port = free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        shutil.copy(RULES, workdir / "rules.yml")
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "900ms",
                       "evaluation_interval": "1s"},
            "rule_files": ["rules.yml"],
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
                for job, port in targets.items()
            ],
        }  # fmt: skip
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.log_path = workdir / "prometheus.log"
        self.argv = [
            binary,
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url("/-/ready"), timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"prometheus did not start:\n{self.log()}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def query(self, expr: str) -> dict[str, Any]:
        """The JSON answer of an instant query (errors come back as status 'error')."""
        address = self.url("/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        try:
            with urllib.request.urlopen(address, timeout=10) as response:
                answer: dict[str, Any] = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            answer = json.loads(exc.read())
            exc.close()
        return answer


@pytest.fixture
def prometheus_binaries() -> tuple[str, str]:
    return _binaries()


def _promtool_check_metrics(promtool: str, text: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30
    )


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


async def test_dashboard_and_rules_return_data_from_a_real_prometheus(
    bootstrap: str, namespace: str, tmp_path: Path, prometheus_binaries: tuple[str, str]
) -> None:
    prometheus_binary, promtool = prometheus_binaries
    topics = Topics(namespace, partitions=4)
    await create_topics(bootstrap, topics, list(Country))
    await publish_clock(
        bootstrap,
        topics,
        ClockCommand(
            exercise_id=namespace,
            action=ClockAction.START,
            issued_at=datetime.now(UTC),
            exercise_start=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
            speed=3600,  # one wall second is an exercise hour: answers come within seconds
        ),
    )
    countries = load_nodes(NODES)
    host = NodeHost(bootstrap, topics, dict.fromkeys(countries, PROMPT), seed=3)
    node_port = free_port()
    server, thread = start_http_server(node_port, addr="127.0.0.1", registry=host.registry)
    prometheus: Prometheus | None = None
    try:
        with HubProcess(bootstrap, topics, tmp_path / "hub") as hub:
            await host.start()
            try:
                prometheus = Prometheus(
                    prometheus_binary,
                    tmp_path / "prometheus",
                    {"onestop-hub": hub.web_port, "onestop-nodes": node_port},
                )
                await asyncio.to_thread(prometheus.start)
                settings = LoadSettings(
                    rate=20.0,
                    duration=15.0,
                    nodes=NODES,
                    mix={LoadKind.REQUEST: 0.8, LoadKind.SPONTANEOUS_INFORMATION: 0.1,
                         LoadKind.BAD: 0.1},
                    seed=5,
                )  # fmt: skip
                result = await run_load(bootstrap, topics, settings, probe_seconds=120)
                assert result.missing == 0, hub.log()[-3000:]
                assert result.deadlettered > 0
                await _wait_for_series(prometheus, "onestop_hub_answer_time_seconds_count")
                await _wait_for_series(prometheus, "onestop_hub_consumer_lag_messages")

                queries = dashboard_exprs()
                recording, alerts = rule_exprs()
                assert len(queries) >= 20 and len(recording) >= 15 and len(alerts) >= 6
                failures = []
                for title, expr in queries:
                    answer = await asyncio.to_thread(prometheus.query, expr)
                    if answer.get("status") != "success" or not answer["data"]["result"]:
                        failures.append(f"dashboard {title!r}: {expr} -> {answer}")
                for name, expr in recording:
                    answer = await asyncio.to_thread(prometheus.query, expr)
                    if answer.get("status") != "success" or not answer["data"]["result"]:
                        failures.append(f"recording rule {name}: {expr} -> {answer}")
                for name, expr in alerts:
                    answer = await asyncio.to_thread(prometheus.query, expr)
                    if answer.get("status") != "success":
                        failures.append(f"alert {name}: {expr} -> {answer}")
                assert not failures, "\n".join(failures)

                hub_text = await asyncio.to_thread(hub.metrics)
                hub_check = await asyncio.to_thread(_promtool_check_metrics, promtool, hub_text)
                assert hub_check.returncode == 0, hub_check.stdout + hub_check.stderr
                node_text = await asyncio.to_thread(_get, f"http://127.0.0.1:{node_port}/metrics")
                node_check = await asyncio.to_thread(_promtool_check_metrics, promtool, node_text)
                assert node_check.returncode == 0, node_check.stdout + node_check.stderr
            finally:
                await host.stop()
    finally:
        if prometheus is not None:
            await asyncio.to_thread(prometheus.stop)
        server.shutdown()
        server.server_close()
        thread.join(10)


async def _wait_for_series(prometheus: Prometheus, expr: str, wait_seconds: float = 30) -> None:
    """Until `expr` has data in Prometheus (scrapes are 1 s apart)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        answer = await asyncio.to_thread(prometheus.query, expr)
        if answer.get("status") == "success" and answer["data"]["result"]:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"no data for {expr} after {wait_seconds} s: {answer}")
        await asyncio.sleep(0.5)


def test_promtool_accepts_the_rules(prometheus_binaries: tuple[str, str]) -> None:
    _, promtool = prometheus_binaries
    checked = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, timeout=30
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
