"""Reading and writing the CSV files of the import layouts, and the file names in them.

Rows in error messages are CSV line numbers: the header is line 1, the first data row line 2.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from emorec.errors import DataError

CSV_FIRST_ROW = 2  # line number of the first data row, after the header
TEXT_COLUMNS = ("session", "path", "filename", "frame_num")


def read_csv(path: str | Path) -> pd.DataFrame:
    """A CSV file as a table (BOM, CRLF and scientific notation are fine); file-name and session
    columns stay text. A missing file, a parse error or a repeated column name is a DataError."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    try:
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in TEXT_COLUMNS}))
        names = pd.Index(table.column_names)
        frame = table.to_pandas()
    except pa.ArrowInvalid as error:
        raise DataError(path, f"cannot parse CSV ({error})") from None
    except UnicodeDecodeError as error:
        raise DataError(path, "not UTF-8 text", expected="a UTF-8 CSV file",
                        found=f"byte 0x{error.object[error.start]:02x} in a column name or "
                              "text value") from None
    if names.has_duplicates:
        duplicated = list(dict.fromkeys(names[names.duplicated()]))
        raise DataError(path, "duplicate column names", column=str(duplicated[0]),
                        expected="each column once", found=", ".join(map(str, duplicated)))
    return frame


def write_csv(table: pd.DataFrame, path: Path) -> Path:
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    pacsv.write_csv(arrow, path, write_options=pacsv.WriteOptions(quoting_style="needed"))
    return path


def column_names(table: pd.DataFrame) -> list[str]:
    """The columns as a user reads them in messages; an unnamed one (a pandas index written
    with the CSV) is named by its position instead of printing as a blank."""
    return [str(name) if str(name).strip() else f"(unnamed column {number}, a pandas index?)"
            for number, name in enumerate(table.columns, start=1)]


def file_paths(names: pd.Series) -> pd.Series:
    """File names with ``/`` as the only separator, so Windows paths match the same rules."""
    return names.astype(str).str.replace("\\", "/", regex=False)
