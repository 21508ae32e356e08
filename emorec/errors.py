"""User-facing errors: the CLI prints these without a traceback."""

from __future__ import annotations


class EmorecError(Exception):
    """An error caused by the user's input or command, not by a bug in emorec."""


class DataError(EmorecError):
    """Bad input data. The message names the file, the column and/or row, and what was expected.

    ``row`` is the 1-based line number in a CSV file (header = line 1) or the 0-based row index
    in a table, as the caller states in ``where``.
    """

    def __init__(
        self,
        file: str,
        problem: str,
        *,
        column: str | None = None,
        row: int | None = None,
        expected: str | None = None,
        found: str | None = None,
    ):
        self.file, self.column, self.row = str(file), column, row
        self.expected, self.found = expected, found
        place = [self.file]
        if row is not None:
            place.append(f"row {row}")
        if column is not None:
            place.append(f"column '{column}'")
        message = f"{': '.join([', '.join(place), problem])}"
        if expected is not None:
            message += f"; expected {expected}"
        if found is not None:
            message += f", found {found}"
        super().__init__(message)
