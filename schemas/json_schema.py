"""The contract as JSON Schema (pure): one standalone schema per message kind, the clock
command and the audit record, identified by `urn:onestop:schema:<name>:v1`."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any, Final

from pydantic import BaseModel

from schemas.audit import AuditRecord
from schemas.clock import ClockCommand
from schemas.envelope import (
    data_schema,
)
from schemas.messages import MODEL_FOR_KIND, MessageBase

JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
CLOCK_COMMAND: Final = "clock_command"
AUDIT_RECORD: Final = "audit_record"
_KIND_REQUIRED: Final = "kind"


def package_version() -> str:
    """The installed version of the `onestop` distribution ("0.0.0" when not installed)."""
    try:
        return version("onestop")
    except PackageNotFoundError:
        return "0.0.0"


def schema_id(name: str) -> str:
    """The `$id` of the schema called `name`: `urn:onestop:schema:<name>:v1`. For message
    kinds this is the CloudEvents dataschema, `schemas.envelope.data_schema(kind)`."""
    return f"urn:onestop:schema:{name}:v1"


def file_name(name: str) -> str:
    """The file a schema is written to, e.g. `request.v1.json`."""
    return f"{name}.v1.json"


def require_kind(schema: dict[str, Any]) -> None:
    """Every message carries its `kind` on the wire (the union's discriminator); pydantic
    lists it as optional because the model has a default, so list it as required."""
    required: list[str] = schema.setdefault("required", [])
    if _KIND_REQUIRED not in required:
        required.insert(0, _KIND_REQUIRED)


def _standalone(model: type[BaseModel], uri: str, title: str) -> dict[str, Any]:
    schema = model.model_json_schema(mode="validation")
    if issubclass(model, MessageBase):
        require_kind(schema)
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["$id"] = uri
    schema["title"] = title
    return schema


def message_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema (draft 2020-12): one per message kind (`<kind>.v1.json`,
    `$id` = its CloudEvents dataschema), plus the clock command and the audit record."""
    result: dict[str, dict[str, Any]] = {}
    for kind, model in MODEL_FOR_KIND.items():
        result[file_name(kind.value)] = _standalone(
            model, data_schema(kind), f"OneStop {kind.value} message (v1)"
        )
    result[file_name(CLOCK_COMMAND)] = _standalone(
        ClockCommand, schema_id(CLOCK_COMMAND), "OneStop clock command (v1)"
    )
    result[file_name(AUDIT_RECORD)] = _standalone(
        AuditRecord, schema_id(AUDIT_RECORD), "OneStop audit record (v1)"
    )
    return result


# --- AsyncAPI ---------------------------------------------------------------------------
