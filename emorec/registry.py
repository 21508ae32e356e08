"""A small generic registry: items declared next to their code with a decorator."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Generic, TypeVar

from emorec.errors import EmorecError

T = TypeVar("T")


class UnknownNameError(EmorecError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class Registry(Generic[T]):
    """Names -> items. ``register`` adds, ``get`` looks up with a helpful error, ``view`` is a
    read-only mapping."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> T:
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._items[name] = item
        return item

    def register(self, name: str, make: Callable[[Callable], T]) -> Callable[[Callable], Callable]:
        """Decorator: ``make(function)`` builds the item stored under ``name``."""

        def decorate(function: Callable) -> Callable:
            self.add(name, make(function))
            return function

        return decorate

    def replace(self, name: str, item: T) -> None:
        """Swap a registered item for another (a plugin's model, tagged with its source)."""
        self.get(name)
        self._items[name] = item

    def remove(self, name: str) -> None:
        """Take a registered item out again (a plugin refused after it registered)."""
        self._items.pop(name, None)

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items))
            folded = {known_name.lower(): known_name for known_name in self._items}
            close = ([folded[name.lower()]] if name.lower() in folded else
                     [folded[n] for n in difflib.get_close_matches(name.lower(), list(folded),
                                                                   n=1)])
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}{hint} (known: {known})") from None

    def view(self) -> Mapping[str, T]:
        return MappingProxyType(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)
