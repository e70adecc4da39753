"""`onestop hub` refuses a fetch wait it cannot use, naming the option, before it starts."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from onestop.cli import app


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["hub", "--fetch-wait", "0"], {}),
        (["hub", "--fetch-wait", "5000"], {}),
        (["hub"], {"ONESTOP_HUB_FETCH_WAIT_MS": "soon"}),
    ],
)
def test_a_fetch_wait_out_of_range_is_refused_by_name(argv: list[str], env: dict[str, str]) -> None:
    outcome = CliRunner().invoke(app, argv, env=env)
    assert outcome.exit_code == 2, outcome.output
    assert "--fetch-wait" in outcome.output and "ONESTOP_HUB_FETCH_WAIT_MS" in outcome.output
