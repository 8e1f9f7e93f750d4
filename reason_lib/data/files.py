"""Reading data files by path, or datasets by Hub id, with errors that name the file and line."""

from __future__ import annotations

import csv
import gzip
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


def _open(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else \
        open(path, encoding="utf-8", newline="")


def _check_exists(path: str | Path) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: data file not found")
    return path


def read_rows(path: str | Path, required: tuple[str, ...], skip_malformed: bool = False,
              stats: dict | None = None) -> list[dict]:
    """Rows of a .jsonl / .csv file (optionally gzipped), each checked for the `required` fields.

    A malformed row raises DataError naming file and line, or, with `skip_malformed`, is skipped and
    counted in `stats["skipped"]`.
    """
    path = _check_exists(path)
    is_csv = ".csv" in path.suffixes
    rows, skipped = [], 0
    with _open(path) as f:
        records = csv.DictReader(f) if is_csv else f
        for i, record in enumerate(records, start=2 if is_csv else 1):
            try:
                if not is_csv:
                    if not record.strip():
                        continue
                    record = json.loads(record)
                    if not isinstance(record, dict):
                        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
                missing = [k for k in required if record.get(k) in (None, "")]
                if missing:
                    raise ValueError(f"missing field {missing[0]!r}")
            except ValueError as e:
                if not skip_malformed:
                    raise DataError(f"{path}, line {i}: {e}") from None
                skipped += 1
                continue
            rows.append(record)
    if stats is not None:
        stats["skipped"] = stats.get("skipped", 0) + skipped
    return rows


def load_hub(name: str, split: str, config: str | None = None, cache_dir: str | None = None) -> list[dict]:
    """A Hub dataset split as a list of dicts: from its mirror folder (`config.hub_mirror`) or a
    folder in the Hub layout, else from the Hub (the network or a warm datasets cache)."""
    from datasets import load_dataset


    source = str(hub_mirror(name) or name)
    if not Path(source).is_dir():
        return [dict(r) for r in load_dataset(source, config, split=split, cache_dir=cache_dir)]
    # A folder's datasets cache is keyed by its README and file names, not by what the files
    # hold: a refreshed mirror would load the stale copy. A cache of its own, each time.
    with tempfile.TemporaryDirectory() as fresh:
        return [dict(r) for r in load_dataset(source, config, split=split, cache_dir=fresh)]
