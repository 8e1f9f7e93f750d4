"""Every data source a run names, loaded and checked before any model loads.

A malformed line in a real test file must stop a run in its first second, not after hours of
training when the evaluation cell finally reads it. Each experiment's check calls the very data
functions its notebook calls, with the run's parameters, so what passes here loads there.
"""

from __future__ import annotations

from reason_lib import benches

# Each experiment's check (its `data.py`, as `benches.DATA` lists them), and evaluate's.
CHECKS = {**{name: data.check for name, data in benches.DATA.items()}, "evaluate": benches.check}


def check_data(experiment: str, params) -> dict[str, int]:
    """Load every data source (path or Hub id) the run's parameters name and check its rows;
    {"<parameter> <source>": rows used}. Raises DataError naming file, row and field."""
    check = CHECKS.get(experiment)
    found = check(params) if check else {}
    for source, n in found.items():
        print(f"data checked: {source}: {n} rows", flush=True)
    return found
