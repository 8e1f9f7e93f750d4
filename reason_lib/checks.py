"""Every data source a run names, loaded and checked before any model loads.

A malformed line in a real test file must stop a run in its first second, not after hours of
training when the evaluation cell finally reads it. Each experiment's check calls the very data
functions its notebook calls, with the run's parameters, so what passes here loads there.
"""

from __future__ import annotations

from reason_lib.benches import item_sets
from reason_lib.config import resolve_source
from reason_lib.data.gsm8k import gsm8k_data, load_gsm8k
from reason_lib.data.mmlu import load_mmlu, mmlu_data
from reason_lib.data.preferences import preference_data
from reason_lib.models.find import find_models


def _gsm8k(params) -> dict[str, int]:
    if not (params.train_data or params.test_data):
        return {}
    data = gsm8k_data(params.train_data, params.test_data, params.n_train,
                      getattr(params, "n_validation", 0), params.n_test, params.problem_steps,
                      params.max_operand, seed=params.data_seed)
    sources = {"train_data": ("train", params.train_data), "test_data": ("test", params.test_data)}
    return {f"{key} {value}": len(data[split]) for key, (split, value) in sources.items() if value}


def _base_model(params) -> dict[str, int]:
    out = {}
    if params.real_gsm8k_test:
        rows = load_gsm8k(resolve_source(params.real_gsm8k_test), "test", limit=params.n_real_gsm8k)
        out[f"real_gsm8k_test {params.real_gsm8k_test}"] = len(rows)
    if params.real_mmlu:
        out[f"real_mmlu {params.real_mmlu}"] = len(load_mmlu(resolve_source(params.real_mmlu)))
    return out


def _star_mmlu(params) -> dict[str, int]:
    if not (params.mmlu_english or params.mmlu_yoruba):
        return {}
    data = mmlu_data(resolve_source(params.mmlu_english) if params.mmlu_english else "",
                     resolve_source(params.mmlu_yoruba) if params.mmlu_yoruba else "",
                     params.n_train, params.n_validation, params.n_test, seed=params.data_seed,
                     subjects=params.mmlu_subjects)
    return {f"{key} {value}": sum(len(split[lg]) for split in data.values())
            for key, value, lg in (("mmlu_english", params.mmlu_english, "en"),
                                   ("mmlu_yoruba", params.mmlu_yoruba, "yo")) if value}


def _preferences(params) -> dict[str, int]:
    if not params.preference_data:
        return {}
    stats: dict = {}
    train, test, _ = preference_data(resolve_source(params.preference_data), params.n_train,
                                     params.n_test, seed=params.data_seed,
                                     context_turns=params.context_turns,
                                     skip_malformed=params.skip_malformed, stats=stats,
                                     subset=params.preference_subset)
    return {f"preference_data {params.preference_data}": len(train) + len(test)}


def _evaluate(params) -> dict[str, int]:
    """The models named (run, folder or Hub id: found without loading weights), then every item
    set the benches name (files read, rows checked)."""
    models = find_models(params.model)
    for f in models + (find_models(params.baseline) if params.baseline else []):
        print(f"model found: {f.label} ({f.path})", flush=True)
    return {f"bench set {s.name}": len(s.rows) for s in item_sets(params, [f.run for f in models])}


CHECKS = {"base_model": _base_model, "pause_warmup": _gsm8k, "pause_star": _gsm8k,
          "star_mmlu": _star_mmlu, "perplexity_grpo": _gsm8k, "reinforce_rm": _preferences,
          "evaluate": _evaluate}


def check_data(experiment: str, params) -> dict[str, int]:
    """Load every data source (path or Hub id) the run's parameters name and check its rows;
    {"<parameter> <source>": rows used}. Raises DataError naming file, row and field."""
    check = CHECKS.get(experiment)
    found = check(params) if check else {}
    for source, n in found.items():
        print(f"data checked: {source}: {n} rows", flush=True)
    return found
