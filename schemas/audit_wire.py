"""An audit record's body as the chain hashes it and the audit topic carries it, built
without pydantic's serializer.

`model_dump(mode="json")` of a record costs about 16 us, most of it calling back into
Python for every enum value; the hub seals two records per message. Here the body is the
record's own field values, which orjson writes natively (enums as their values, aware
datetimes as pydantic writes them with `OPT_UTC_Z`, lists and tuples as arrays): the
same JSON, and sealing takes 12 us a record instead of 23. Two things differ and are
handled: a float field may hold an int (a model built unvalidated, `schemas.trusted`),
which pydantic writes as a float; and the details are their own model, written with only
the fields that were given (`Details.wire`). Anything else orjson cannot write natively
(another nested model, bytes, a set) makes it raise TypeError, and `seal_json` dumps with
pydantic instead. Tests check that both give the same bytes for records of every event.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Any, Final

import orjson
from pydantic import BaseModel

#: orjson options that write what pydantic's JSON mode writes.
WIRE_OPTIONS: Final = orjson.OPT_UTC_Z


@functools.cache
def _float_fields(cls: type[BaseModel]) -> frozenset[str]:
    """The fields of `cls` declared as `float` or `float | None`."""
    names = set()
    for name, info in cls.model_fields.items():
        annotation = info.annotation
        if annotation is float or (
            typing.get_origin(annotation) in (typing.Union, types.UnionType)
            and float in typing.get_args(annotation)
        ):
            names.add(name)
    return frozenset(names)


def fields_of(model: BaseModel, *, only_set: bool = False) -> dict[str, Any]:
    """`model`'s field values in field order (only those given, with `only_set`), ints in
    float fields as floats, a `details` model as its own given fields. Any other model
    is left as it is, for orjson to refuse (a TypeError)."""
    values = model.__dict__
    if only_set:
        given = model.model_fields_set
        out = {name: value for name, value in values.items() if name in given}
    else:
        out = values.copy()
    for name in _float_fields(type(model)):
        if type(out.get(name)) is int:
            out[name] = float(out[name])
    details = out.get("details")
    if isinstance(details, BaseModel):
        out["details"] = fields_of(details, only_set=True)
    return out
