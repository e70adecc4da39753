"""Models built without validation from trusted values: the same as pydantic's
`model_construct`, and loud about fields that are missing or unknown."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from schemas.trusted import trusted


class Entry(BaseModel):
    name: str
    count: int = 0
    tags: list[str] = Field(default_factory=list)
    note: str | None = None


def test_it_equals_model_construct_field_for_field() -> None:
    built = trusted(Entry, name="a", note="n")
    constructed = Entry.model_construct(name="a", note="n")

    assert built == constructed
    assert built.model_dump_json() == constructed.model_dump_json()
    assert built.model_fields_set == {"name", "note"}
    assert list(built.model_dump()) == ["name", "count", "tags", "note"]  # field order


def test_each_instance_gets_its_own_default_from_a_factory() -> None:
    first, second = trusted(Entry, name="a"), trusted(Entry, name="b")
    first.tags.append("x")

    assert second.tags == []


def test_a_missing_required_field_is_named() -> None:
    with pytest.raises(TypeError, match="'name' is missing"):
        trusted(Entry, count=1)


def test_an_unknown_field_is_named() -> None:
    with pytest.raises(TypeError, match="no field 'colour'"):
        trusted(Entry, name="a", colour="red")
