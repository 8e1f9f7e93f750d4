"""Notebook 05's data: its preference pairs (the notebook, the up-front check and
`make evaluate`'s bench `run` call the same `splits`) and its evaluation prompts, scored by the
run's kept reward model."""

from __future__ import annotations

from reason_lib.config import ParamError, resolve_source
from reason_lib.data.preferences import preference_data, prompt_rows
from reason_lib.evaluate import ItemSet


def splits(p, stats: dict | None = None) -> tuple[list[dict], list[dict], object]:
    """(training pairs, held-out pairs, gold reward function or None): HH-RLHF-format pairs,
    else the offline world with its known gold reward; `stats` gets the rows skipped."""
    return preference_data(resolve_source(p.preference_data) if p.preference_data else "",
                           p.n_train, p.n_test, p.data_seed, p.label_noise,
                           context_turns=p.context_turns, skip_malformed=p.skip_malformed,
                           stats=stats, subset=p.preference_subset)


def check(p) -> dict[str, int]:
    """The preference file the run names, loaded and checked: {"preference_data <file>": pairs}."""
    if not p.preference_data:
        return {}
    train, test, _ = splits(p, {})
    return {f"preference_data {p.preference_data}": len(train) + len(test)}


def test_sets(p, run) -> list[ItemSet]:
    """The run's evaluation prompts, one reply each, scored by the reward model it kept, with the
    KL to its SFT policy."""
    kept = run.dir / "models" / "reward_model"
    if not kept.is_dir():
        raise ParamError(f"bench 'run': {run.dir} kept no reward model (runs before "
                         "models/ existed); its policies can be scored on the other benches")
    _, test, gold_fn = splits(p)
    sft = run.checkpoints / "sft-model" if p.sft_epochs > 0 else resolve_source(p.base_model)
    return [ItemSet("HH prompts (run)" if p.preference_data else "preference prompts (run)",
                    "policy", prompt_rows(test[:p.n_eval_prompts]), max_new_tokens=p.max_new_tokens,
                    batch_size=p.eval_batch_size, temperature=p.temperature, seed=p.seed,
                    options={"gold_fn": gold_fn},
                    needs={"reward": {"model": str(kept), "level": p.level, "dtype": p.dtype},
                           "reference": {"model": str(sft), "dtype": p.dtype}})]
