"""Reading data files by path, or datasets by Hub id, with errors that name the file and line."""

from __future__ import annotations

import csv
import gzip
import io
import json
import tempfile
from pathlib import Path

from reason_lib.config import hub_mirror, is_local


class DataError(ValueError):
    """A data file is missing or malformed; the message names the file, line and field."""


def is_file(path_or_id: str) -> bool:
    """True for a local data file; False for a Hub id or a folder in a Hub dataset's layout (both
    load through `load_hub`)."""
    return is_local(path_or_id) and not Path(path_or_id).expanduser().is_dir()


def hub_name(path_or_id: str) -> str:
    """`owner/name` of a Hub id or of its folder in a mirror (`.../cais/mmlu` -> `cais/mmlu`): the
    name tells which schema and configs a Hub dataset has."""
    return "/".join(Path(path_or_id).parts[-2:]) if is_local(path_or_id) else path_or_id


def _lines(path: Path) -> list[str]:
    """The file's lines as text (gzip when .gz), each decoded as UTF-8 on its own: a byte that is
    not UTF-8 is a DataError naming the line and column, not a raw decode error at a byte offset."""
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    lines = []
    for i, raw in enumerate(data.splitlines(keepends=True), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as e:
            raise DataError(f"{path}, line {i}: not UTF-8 text (byte {raw[e.start]:#04x} at "
                            f"column {e.start + 1}); save the file as UTF-8") from None
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]  # a byte-order mark is not part of the first field's name
    return lines


def _check_exists(path: str | Path) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: data file not found")
    return path


def read_rows(path: str | Path, required: tuple[str, ...], skip_malformed: bool = False,
              stats: dict | None = None, convert=None) -> list[dict]:
    """Rows of a .jsonl / .csv file (optionally gzipped), each checked for the `required` fields
    and passed through `convert(row) -> row` (raises ValueError saying what is wrong), every
    message naming the file and the line the row starts on (1 = the first line of the file, a
    CSV's header included).

    A malformed row raises DataError, or, with `skip_malformed`, is skipped and counted in
    `stats["skipped"]`. A file with no rows left (empty, or every row skipped) is a DataError.
    """
    path = _check_exists(path)
    is_csv = ".csv" in path.suffixes
    lines = _lines(path)
    if is_csv:
        reader = csv.DictReader(io.StringIO("".join(lines), newline=""))
        # line_num is the record's last line: back up over the newlines its quoted fields hold
        records = ((f"line {reader.line_num - _span(r)}", r) for r in reader)
    else:
        records = ((f"line {i}", line) for i, line in enumerate(lines, start=1) if line.strip())

    def parse(record):
        if not is_csv:
            record = json.loads(record)
            if not isinstance(record, dict):
                raise ValueError(f"expected a JSON object, got {type(record).__name__}")
        missing = [k for k in required if record.get(k) in (None, "")]
        if missing:
            raise ValueError(f"missing field {missing[0]!r}")
        return convert(record) if convert is not None else record

    return _converted(records, parse, str(path), skip_malformed, stats, " (empty file)")


def convert_rows(rows: list[dict], convert, source: str, skip_malformed: bool = False,
                 stats: dict | None = None) -> list[dict]:
    """A Hub split's rows through `convert` as `read_rows` takes a file's (a Hub row has no line:
    the message names its row, 1 = the first), malformed ones an error or skipped and counted."""
    return _converted(((f"row {i}", r) for i, r in enumerate(rows, start=1)), convert, source,
                      skip_malformed, stats)


def _converted(records, convert, source: str, skip_malformed: bool, stats: dict | None,
               empty: str = "") -> list:
    """`convert(record)` of each (place, record): a ValueError is a DataError naming `source` and
    the place, or with `skip_malformed` the record is left out and counted in
    `stats["skipped"]`; none left is a DataError (`empty` says why when none was skipped)."""
    out, skipped = [], 0
    for place, record in records:
        try:
            out.append(convert(record))
        except ValueError as e:
            if not skip_malformed:
                raise DataError(f"{source}, {place}: {e}") from None
            skipped += 1
    if stats is not None:
        stats["skipped"] = stats.get("skipped", 0) + skipped
    if not out:
        raise DataError(f"{source}: no data rows" + (f" ({skipped} malformed, skipped)" if skipped
                                                     else empty))
    return out


def _span(record: dict) -> int:
    """Lines a CSV record spans beyond its first (quoted fields may hold newlines)."""
    return sum(str(v).count("\n") for v in record.values() if v is not None)


def load_hub(name: str, split: str, config: str | None = None, cache_dir: str | None = None,
             data_dir: str | None = None) -> list[dict]:
    """A Hub dataset split as a list of dicts: from its mirror folder (`config.hub_mirror`) or a
    folder in the Hub layout, else from the Hub (the network or a warm datasets cache).
    `data_dir`: one subset folder of a dataset that keeps several side by side (HH-RLHF's
    harmless-base, helpful-base, ...; without it, all of them together)."""
    from datasets import load_dataset


    source = str(hub_mirror(name) or name)
    if not Path(source).is_dir():
        return [dict(r) for r in load_dataset(source, config, split=split, cache_dir=cache_dir,
                                              data_dir=data_dir or None)]
    # A folder's datasets cache is keyed by its README and file names, not by what the files
    # hold: a refreshed mirror would load the stale copy. A cache of its own, each time.
    with tempfile.TemporaryDirectory() as fresh:
        return [dict(r) for r in load_dataset(source, config, split=split, cache_dir=fresh,
                                              data_dir=data_dir or None)]
