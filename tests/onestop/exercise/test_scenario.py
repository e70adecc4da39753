"""Scenario files: the shipped ones load, and mistakes are reported with file, line and
field, saying what was expected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from onestop.exercise.scenario import (
    ScenarioError,
    load_scenario,
    parse_offset,
    scenario_json_schema,
)
from onestop.paths import EXERCISES_DIR

EXERCISES = EXERCISES_DIR
VALID = """\
name: small
clock:
  start: 2026-03-02T08:00:00Z
  speed: 600
  end: 1d
nodes:
  PL: {}
  LT: {}
injects:
  - id: first
    at: "00:20"
    from: PL
    to: LT
    subject: vehicle
"""


def load_text(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(load_text(tmp_path, text))
    return str(caught.value)


@pytest.mark.parametrize("path", sorted(EXERCISES.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_scenarios_load(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.injects and scenario.nodes


def test_a_valid_scenario_loads(tmp_path: Path) -> None:
    scenario = load_scenario(load_text(tmp_path, VALID))
    assert scenario.injects[0].at.total_seconds() == 20 * 60


def test_unknown_country_names_the_line_and_the_field(tmp_path: Path) -> None:
    message = error_of(tmp_path, VALID.replace("  LT: {}", "  XX: {}"))
    assert "scenario.yaml:8: nodes.XX" in message
    assert "'LT'" in message  # says what is expected


def test_negative_speed_names_its_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, VALID.replace("speed: 600", "speed: -3"))
    assert "scenario.yaml:4: clock.speed: Input should be greater than 0" in message


def test_bad_offset_says_what_an_offset_looks_like(tmp_path: Path) -> None:
    message = error_of(tmp_path, VALID.replace('at: "00:20"', 'at: "twenty past"'))
    assert "scenario.yaml:11: injects.0.at" in message
    assert "'00:20'" in message


def test_urgent_inject_without_reason(tmp_path: Path) -> None:
    message = error_of(tmp_path, VALID + "    urgency: urgent\n")
    assert "scenario.yaml:10: injects.0: an urgent request needs urgency_reason" in message


def test_inject_between_parties_that_are_not_nodes(tmp_path: Path) -> None:
    message = error_of(tmp_path, VALID.replace("to: LT", "to: DE"))
    assert "DE is not among the nodes" in message


def test_trigger_naming_an_unknown_inject(tmp_path: Path) -> None:
    text = VALID + "    after: {inject: nowhere, outcome: answered}\n"
    assert "'after' names unknown inject 'nowhere'" in error_of(tmp_path, text)


def test_unknown_field_is_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, VALID.replace("  speed: 600", "  sped: 600"))
    assert "scenario.yaml:4: clock.sped: Extra inputs are not permitted" in message


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, VALID.replace("  PL: {}", "  PL: {"))
    assert "scenario.yaml:" in message and "not valid YAML" in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("00:20", 20), ("1d", 1440), ("1d 02:30", 1590), ("3:05:30", 185.5), (90, 90)],
)
def test_offsets(text: str | int, minutes: float) -> None:
    assert parse_offset(text).total_seconds() == minutes * 60


def test_published_json_schema_is_current() -> None:
    committed = json.loads((EXERCISES / "scenario.schema.json").read_text())
    assert committed == json.loads(json.dumps(scenario_json_schema())), (
        "run: .venv/bin/onestop exercise schema"
    )
