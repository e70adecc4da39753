"""The contract as files: `messages/<name>.v1.json` (JSON Schema, `schemas.json_schema`) and
`asyncapi.yaml` (`schemas.asyncapi`). `write_all()` puts them on disk; the copies committed
under `schemas/generated/` are written by `onestop schema export schemas/generated` (or
`make schemas`) and a test checks that they are up to date.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml

from schemas.asyncapi import asyncapi_document
from schemas.json_schema import message_schemas

MESSAGES_DIR: Final = "messages"
ASYNCAPI_FILE: Final = "asyncapi.yaml"


def render_json(schema: Mapping[str, Any]) -> str:
    """A JSON Schema file's text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_yaml(document: Mapping[str, Any]) -> str:
    """The AsyncAPI file's text: sorted keys, block style, trailing newline."""
    text: str = yaml.safe_dump(
        dict(document), sort_keys=True, allow_unicode=True, default_flow_style=False, width=100
    )
    return text if text.endswith("\n") else text + "\n"


def rendered_files() -> dict[str, str]:
    """Relative path (POSIX) -> text, for every file `write_all` writes."""
    files = {
        f"{MESSAGES_DIR}/{name}": render_json(schema)
        for name, schema in sorted(message_schemas().items())
    }
    files[ASYNCAPI_FILE] = render_yaml(asyncapi_document())
    return files


def write_all(directory: Path) -> list[Path]:
    """Write `messages/<name>.json` and `asyncapi.yaml` under `directory` (created as
    needed) and return their paths. Other `*.json` files in `messages/` (schemas of kinds
    that no longer exist) are removed, so the directory is exactly the contract."""
    files = rendered_files()
    messages_dir = directory / MESSAGES_DIR
    messages_dir.mkdir(parents=True, exist_ok=True)
    wanted = {directory / relative for relative in files}
    for stale in sorted(messages_dir.glob("*.json")):
        if stale not in wanted:
            stale.unlink()
    written: list[Path] = []
    for relative, text in files.items():
        path = directory / relative
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written
