"""Every data source a run names, loaded and checked before any model loads.

A malformed line in a real test file must stop a run in its first second, not after hours of
training when the evaluation cell finally reads it. Each experiment's check calls the very data
functions its notebook calls, with the run's parameters, so what passes here loads there.
"""

from __future__ import annotations

from reason_lib import benches
from reason_lib.experiments.base_model import data as base_model_data
from reason_lib.experiments.pause_star import data as pause_star_data
from reason_lib.experiments.pause_warmup import data as pause_warmup_data
from reason_lib.experiments.perplexity_grpo import data as perplexity_grpo_data
from reason_lib.experiments.reinforce_rm import data as reinforce_rm_data
from reason_lib.experiments.star_mmlu import data as star_mmlu_data

# Each experiment's check (`reason_lib/experiments/<name>/data.py`; evaluate's in `benches`).
CHECKS = {"base_model": base_model_data.check, "pause_warmup": pause_warmup_data.check,
          "pause_star": pause_star_data.check, "star_mmlu": star_mmlu_data.check,
          "perplexity_grpo": perplexity_grpo_data.check, "reinforce_rm": reinforce_rm_data.check,
          "evaluate": benches.check}


def check_data(experiment: str, params) -> dict[str, int]:
    """Load every data source (path or Hub id) the run's parameters name and check its rows;
    {"<parameter> <source>": rows used}. Raises DataError naming file, row and field."""
    check = CHECKS.get(experiment)
    found = check(params) if check else {}
    for source, n in found.items():
        print(f"data checked: {source}: {n} rows", flush=True)
    return found
