"""The hub's state tables (Faust tables of bytes in the worker) seen as the core's ports: a
mapping of request entries and a mapping of input positions."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping

from streams.lifecycle import RequestEntry


class RequestStore(MutableMapping[str, RequestEntry]):
    """The request table seen as a mapping of RequestEntry, stored as compact JSON bytes."""

    def __init__(self, table: MutableMapping[str, bytes]) -> None:
        self.table = table

    def __getitem__(self, key: str) -> RequestEntry:
        raw = self.table.get(key)
        if raw is None:
            raise KeyError(key)
        return RequestEntry.model_validate_json(raw)

    def __setitem__(self, key: str, value: RequestEntry) -> None:
        self.table[key] = value.model_dump_json(exclude_defaults=True).encode()

    def __delitem__(self, key: str) -> None:
        del self.table[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.table.keys())

    def __len__(self) -> int:
        return len(self.table)


class PositionStore(MutableMapping[str, int]):
    """The position table seen as a mapping of offsets, stored as decimal text."""

    def __init__(self, table: MutableMapping[str, bytes]) -> None:
        self.table = table

    def __getitem__(self, key: str) -> int:
        raw = self.table.get(key)
        if raw is None:
            raise KeyError(key)
        return int(raw)

    def __setitem__(self, key: str, value: int) -> None:
        self.table[key] = str(value).encode()

    def __delitem__(self, key: str) -> None:
        del self.table[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.table.keys())

    def __len__(self) -> int:
        return len(self.table)
