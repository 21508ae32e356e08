"""A model's parameters declared as data: default, accepted values and tuning range.

Every parameter value a model receives, from a suite, ``--param``, a tuning trial or a study's
best trial, goes through :meth:`Param.check`: the one place that validates parameters. It also
normalises numbers to the declared kind, so ``window = 2`` and ``window = 2.0`` are the same
cell.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from emorec.errors import EmorecError

KINDS = ("int", "float", "choice", "text")


@dataclass(frozen=True)
class Param:
    """``kind``: ``int`` or ``float`` (within ``low``..``high``), ``choice`` (one of
    ``choices``) or ``text`` (matching ``pattern``). ``optional``: ``None`` is accepted too
    (it means "no limit" or "all"). ``tune``: the range a tuning study samples, ``(low, high)``
    for numbers (``log``: on a log scale), ``True`` for all the choices, ``None``: not tuned."""

    kind: str
    default: object
    low: float | None = None
    high: float | None = None
    above: float | None = None
    choices: tuple = ()
    pattern: str | None = None
    optional: bool = False
    tune: tuple | bool | None = None
    log: bool = False
    help: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Param kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind == "choice" and not self.choices:
            raise ValueError("a choice Param needs choices")

    def check(self, model: str, name: str, value):
        """``value`` normalised to the declared kind; EmorecError naming model and parameter
        otherwise."""
        if value is None and self.optional:
            return None

        def refuse(expected: str):
            raise EmorecError(f"model {model!r}: parameter {name} must be {expected}, "
                              f"found {value!r}")

        if self.kind == "choice":
            if isinstance(value, bool) or value not in self.choices:
                refuse("one of " + ", ".join(map(str, self.choices)))
            return value
        if self.kind == "text":
            if not isinstance(value, str) or not re.fullmatch(self.pattern or ".*", value):
                refuse(f"text matching {self.pattern!r}")
            return value
        number = _number(value)
        if number is None or (self.kind == "int" and number != int(number)):
            refuse(self._describe())
        number = int(number) if self.kind == "int" else float(number)
        if (self.low is not None and number < self.low) or (
                self.high is not None and number > self.high) or (
                self.above is not None and number <= self.above):
            refuse(self._describe())
        return number

    def _describe(self) -> str:
        text = "a whole number" if self.kind == "int" else "a number"
        if self.low is not None and self.high is not None:
            text += f" in [{self.low:g}, {self.high:g}]"
        elif self.low is not None:
            text += f" >= {self.low:g}"
        elif self.above is not None:
            text += f" > {self.above:g}"
        return text + (" or null" if self.optional else "")

    def describe(self) -> str:
        """The accepted values, for ``emorec models``."""
        if self.kind == "choice":
            return " | ".join(map(str, self.choices))
        if self.kind == "text":
            return f"text {self.pattern}"
        return self._describe()


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
