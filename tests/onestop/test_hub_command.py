"""`onestop hub` refuses a fetch wait or a batch wait it cannot use, naming the option,
before it starts, and hands the waits it is given to the hub's settings."""

from __future__ import annotations

import importlib
from collections.abc import Coroutine
from typing import Any

import pytest
from typer.testing import CliRunner

from onestop.cli import app
from streams.settings import HubSettings

ENVVARS = {"--fetch-wait": "ONESTOP_HUB_FETCH_WAIT_MS", "--batch-wait": "ONESTOP_HUB_BATCH_WAIT_MS"}


@pytest.mark.parametrize(
    ("option", "argv", "env"),
    [
        ("--fetch-wait", ["--fetch-wait", "0"], {}),
        ("--fetch-wait", ["--fetch-wait", "5000"], {}),
        ("--fetch-wait", [], {"ONESTOP_HUB_FETCH_WAIT_MS": "soon"}),
        ("--batch-wait", ["--batch-wait", "-1"], {}),
        ("--batch-wait", ["--batch-wait", "5000"], {}),
        ("--batch-wait", [], {"ONESTOP_HUB_BATCH_WAIT_MS": "later"}),
    ],
)
def test_a_wait_out_of_range_is_refused_by_name(
    option: str, argv: list[str], env: dict[str, str]
) -> None:
    outcome = CliRunner().invoke(app, ["hub", *argv], env=env)
    assert outcome.exit_code == 2, outcome.output
    assert option in outcome.output and ENVVARS[option] in outcome.output


def test_the_waits_asked_for_reach_the_hubs_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    import onestop.cli.hub_worker as hub_worker
    import streams.worker as worker

    hub_command = importlib.import_module("onestop.cli.hub")  # the package names the command

    made: list[HubSettings] = []

    class Hub:
        def __init__(self, settings: HubSettings) -> None:
            made.append(settings)
            self.app = None

    def prepared(coroutine: Coroutine[Any, Any, None]) -> None:
        coroutine.close()  # no broker: the topics are not made

    monkeypatch.setattr(worker, "Hub", Hub)
    monkeypatch.setattr(hub_worker, "run_worker", lambda app, level: None)
    monkeypatch.setattr(hub_command, "run_kafka", prepared)
    argv = ["hub", "--bootstrap", "127.0.0.1:1", "--fetch-wait", "25"]
    outcome = CliRunner().invoke(app, argv, env={"ONESTOP_HUB_BATCH_WAIT_MS": "0"})
    assert outcome.exit_code == 0, outcome.output
    assert [(s.fetch_max_wait, s.batch_wait) for s in made] == [(0.025, 0.0)]
