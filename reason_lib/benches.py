"""Score any model on the project's benchmarks, with the experiments' own prompts, extraction and
intervals (`make evaluate`, notebook 06).

A *bench* names item sets: `gsm8k_format` (the procedural in-template test), `paraphrase` (its
held-out templates), `mc_english` / `mc_yoruba` (the offline multiple choice), `gsm8k` (real
GSM8K), `mmlu` (real MMLU, scored by letter log-prob and by the generated `Answer: X`), `mmmlu`
(MMMLU in one language, both ways) and `run` (a run's own test items, rebuilt from its parameters,
so a kept model is scored on exactly what its run scored). Every item set is loaded and checked
by `item_sets` before any model loads.
"""

from __future__ import annotations

from reason_lib.config import ParamError, resolve_source
from reason_lib.data.mmlu import load_mmlu, stratified
from reason_lib.data.preferences import preference_data, prompt_rows
from reason_lib.evaluate import (ItemSet, evaluate_choice, evaluate_choice_logprob, evaluate_gsm8k,
                                 evaluate_pause_gsm8k, evaluate_policy, gold_perplexity)
from reason_lib.experiments.base_model import data as base_model_data
from reason_lib.experiments.base_model.data import offline_sets, real_sets
from reason_lib.experiments.pause_star import data as pause_star_data
from reason_lib.experiments.pause_warmup import data as pause_warmup_data
from reason_lib.experiments.perplexity_grpo import data as perplexity_grpo_data
from reason_lib.experiments.reinforce_rm import data as reinforce_rm_data
from reason_lib.experiments.star_mmlu import data as star_mmlu_data
from reason_lib.models.find import find_models, find_reward_model
from reason_lib.models.load import load_model, load_tokenizer
from reason_lib.models.reward_model import RewardModelScorer, load_reward_model
from reason_lib.rewards import PerplexityReward
from reason_lib.runs import Run
from reason_lib.stats import (change_text, interval_text, paired_difference,
                              paired_proportion_difference)

BENCHES = {
    "gsm8k_format": "procedural GSM8K-format test problems (in-template), greedy accuracy by steps",
    "paraphrase": "procedural GSM8K-format problems in held-out templates",
    "mc_english": "offline multiple choice, English",
    "mc_yoruba": "offline multiple choice, Yoruba",
    "gsm8k": "real GSM8K test (real_gsm8k_test: a jsonl file or openai/gsm8k)",
    "mmlu": "real MMLU (real_mmlu), letter log-prob and generated 'Answer: X'",
    "mmmlu": "MMMLU in mmmlu_language (mmmlu: a CSV or openai/MMMLU), both ways",
    "hh": "one reply per held-out HH prompt (preference_data), scored by a kept reward model",
    "run": "the evaluated run's own test items, rebuilt from its parameters",
}


# Each experiment's data module (`reason_lib/experiments/<name>/data.py`): its splits, its
# up-front check (`reason_lib.checks`) and its test items, rebuilt from a run's parameters (what its
# notebook scored its models on).
DATA = {"base_model": base_model_data, "pause_warmup": pause_warmup_data,
        "pause_star": pause_star_data, "star_mmlu": star_mmlu_data,
        "perplexity_grpo": perplexity_grpo_data, "reinforce_rm": reinforce_rm_data}


def run_sets(run) -> list[ItemSet]:
    """A run's own test items, from its parameters: what its notebook scored its models on."""
    experiment = run.manifest["experiment"]
    if experiment not in DATA:
        raise ParamError(f"bench 'run': rebuilding the test items of a {experiment} run is not "
                         "supported")
    return DATA[experiment].test_sets(run.params(), run)


def hh_set(p) -> ItemSet:
    """Held-out preference prompts (HH-RLHF, or the offline world with its gold reward), one reply
    each, scored by the kept reward model `p.reward_model`."""
    path, level = find_reward_model(p.reward_model)
    _, test, gold_fn = preference_data(resolve_source(p.preference_data) if p.preference_data else "",
                                       0, p.n_prompts, p.data_seed, context_turns=p.context_turns,
                                       skip_malformed=p.skip_malformed, subset=p.preference_subset)
    rows = prompt_rows(test)
    return ItemSet("HH prompts" if p.preference_data else "preference prompts", "policy", rows,
                   max_new_tokens=p.reply_max_new_tokens, batch_size=p.eval_batch_size,
                   seed=p.seed, options={"gold_fn": gold_fn},
                   needs={"reward": {"model": path, "level": level, "dtype": p.dtype}})


def item_sets(params, runs=()) -> list[ItemSet]:
    """Every item set `params.benches` names, loaded and checked (files read, rows validated);
    `runs`: the run folders of the evaluated models (for the `run` bench)."""
    unknown = [b for b in params.benches if b not in BENCHES]
    if unknown:
        raise ParamError(f"bench {unknown[0]!r}: unknown; known: {', '.join(BENCHES)}")
    needs = {"gsm8k": "real_gsm8k_test", "mmlu": "real_mmlu", "mmmlu": "mmmlu", "hh": "reward_model"}
    for bench, key in needs.items():
        if bench in params.benches and not getattr(params, key):
            raise ParamError(f"bench {bench!r} needs its data: set {key} (e.g. -p {key} <file or Hub id>)")
    out = offline_sets(params, params.benches) + real_sets(params, params.benches)
    if "mmmlu" in params.benches:
        rows = stratified(load_mmlu(resolve_source(params.mmmlu), params.mmmlu_language),
                          params.n_real_mmlu, seed=params.data_seed)
        lang = "yo" if params.mmmlu_language.upper().startswith("YO") else "en"
        label = f"MMMLU {params.mmmlu_language}"
        out += [ItemSet(f"{label}, letter log-prob", "logprob", rows, lang,
                        batch_size=params.eval_batch_size),
                ItemSet(f"{label}, generated", "choice", rows, lang,
                        max_new_tokens=params.mmlu_max_new_tokens, batch_size=params.eval_batch_size)]
    if "hh" in params.benches:
        out.append(hh_set(params))
    if "run" in params.benches:
        folders = sorted({str(r) for r in runs if r is not None})
        if len(folders) != 1:
            raise ParamError("bench 'run' scores a run's own test items: MODEL must name one run "
                             f"(got {len(folders)} runs)")
        out += run_sets(Run(folders[0]))
    if not out:
        raise ParamError("no items to score: benches " + ", ".join(params.benches))
    return out


def check(params) -> dict[str, int]:
    """`make evaluate`'s up-front check: the models named (run, folder or Hub id: found without
    loading weights), then every item set the benches name (files read, rows checked)."""
    models = find_models(params.model)
    for f in models + (find_models(params.baseline) if params.baseline else []):
        print(f"model found: {f.label} ({f.path})", flush=True)
    return {f"bench set {s.name}": len(s.rows) for s in item_sets(params, [f.run for f in models])}


def load_resources(sets: list[ItemSet], device: str = "auto", batch_size: int = 64) -> dict:
    """The frozen models the item sets score with (`ItemSet.needs`), each loaded once:
    {(role, path): scorer or model}."""
    out = {}
    for s in sets:
        for role, spec in s.needs.items():
            key, path, dtype = (role, spec["model"]), spec["model"], spec.get("dtype", "float32")
            if key in out:
                continue
            if role == "perplexity":
                out[key] = PerplexityReward(load_model(path, dtype=dtype, device=device),
                                            load_tokenizer(path), form=spec["form"],
                                            target=spec["target"], batch_size=batch_size)
            elif role == "reward":
                out[key] = RewardModelScorer(load_reward_model(path, spec["level"], dtype, device),
                                             load_tokenizer(path), batch_size=batch_size)
            elif role == "reference":
                out[key] = load_model(path, dtype=dtype, device=device).eval().requires_grad_(False)
            else:
                raise ValueError(f"item set {s.name!r}: unknown frozen-model role {role!r}")
    return out


def _need(resources: dict, s: ItemSet, role: str):
    return resources[(role, s.needs[role]["model"])] if role in s.needs else None


def score(model, tokenizer, sets: list[ItemSet], temperature: float = 0.0, pause: bool = False,
          resources: dict | None = None, seed: int = 0, label: str = "",
          progress: bool = True) -> dict[str, tuple[dict, list[dict]]]:
    """{set name: (summary, records)} of one model on every item set, each drawn from `seed` (a
    sampled evaluation repeats, whatever was scored before it). A pause LM (`pause`) is decoded
    with its pause head (pauses per reply reported) and scored on the GSM8K-format sets only;
    `resources`: the frozen models the sets need (`load_resources`); a set meant `only` for one
    model is skipped for a model of another `label`."""
    from transformers import set_seed

    out = {}
    for s in sets:
        if s.only and label.rsplit("/", 1)[-1] != s.only:
            continue
        set_seed(seed if s.seed is None else s.seed)
        gen = dict(max_new_tokens=s.max_new_tokens, batch_size=s.batch_size, progress=progress,
                   temperature=temperature if s.temperature is None else s.temperature)
        if s.kind == "policy":
            if pause:
                continue
            out[s.name] = evaluate_policy(model, tokenizer, s.rows, _need(resources, s, "reward"),
                                          ref_model=_need(resources, s, "reference"),
                                          gold_fn=s.options.get("gold_fn"),
                                          max_new_tokens=s.max_new_tokens,
                                          temperature=gen["temperature"], batch_size=s.batch_size,
                                          seed=seed if s.seed is None else s.seed,
                                          progress=progress)
            continue
        if s.kind == "logprob":
            if pause:
                continue
            out[s.name] = evaluate_choice_logprob(model, tokenizer, s.rows, s.lang,
                                                  batch_size=s.batch_size, progress=progress)
        elif s.kind == "choice":
            if pause:
                continue
            out[s.name] = evaluate_choice(model, tokenizer, s.rows, s.lang, **gen)
        elif pause:
            out[s.name] = evaluate_pause_gsm8k(model, tokenizer, s.rows, **gen, **s.options)
        else:
            out[s.name] = evaluate_gsm8k(model, tokenizer, s.rows, **gen)
        if "perplexity" in s.needs and s.name in out:
            ppl, nll = gold_perplexity(_need(resources, s, "perplexity"), s.rows, out[s.name][1])
            out[s.name][0]["gold_perplexity"] = ppl
            for rec, x in zip(out[s.name][1], nll):
                rec["gold_nll"] = x
    return out


def paired(results: dict, baseline: dict) -> dict[str, dict]:
    """{set name: paired change against the baseline on the same items}: of accuracy (Newcombe,
    items gained / lost), or of the mean reward-model score for a policy set."""
    out = {}
    for name, (_, recs) in results.items():
        if name not in baseline:
            continue
        base = baseline[name][1]
        out[name] = paired_difference([r["reward"] for r in recs], [r["reward"] for r in base]) \
            if "reward" in recs[0] else paired_proportion_difference([r["correct"] for r in recs],
                                                                     [r["correct"] for r in base])
    return out


def main_metric(summary: dict) -> tuple[str, dict]:
    """What a set's table and figure show: accuracy, or a policy set's mean reward-model score."""
    return ("accuracy", summary["accuracy"]) if "accuracy" in summary else ("RM score", summary["reward"])


def table_row(label: str, name: str, summary: dict, change: dict | None = None) -> dict:
    """A row of the evaluation table: model `label` on item set `name` (`summary`: its score),
    with what the set measures beside its main metric, and its paired change against the
    baseline model (`change`, from `paired`) when there is one."""
    metric, value = main_metric(summary)
    row = {"model": label, "item set": name, "metric": metric, "score": interval_text(value),
           "n": value["n"],
           "no answer": round(summary["no_answer"]["value"], 3) if "no_answer" in summary else None}
    for key, title in [("gold", "gold score"), ("kl", "KL to reference (nats)")]:
        if key in summary:
            row[title] = interval_text(summary[key])
    if "gold_perplexity" in summary:
        row["gold-answer perplexity"] = interval_text(summary["gold_perplexity"])
    if summary.get("pauses"):
        row["pauses / reply"] = round(summary["pauses"]["value"], 2)
    if change is not None:
        row["Δ vs baseline"] = change_text(change) if "gained" in change else \
            interval_text(change, signed=True)
    return row


def grid_text(rows: list[dict]) -> str:
    """The evaluation as the terminal shows it at the end: one line per model, one column per
    item set, each score with its interval, and the paired change against the baseline beneath
    when there is one (`rows`: `table_row`s)."""
    import pandas as pd

    table = pd.DataFrame(rows)
    out = "scores (95 % interval):\n" + table.pivot(index="model", columns="item set",
                                                     values="score").to_string()
    if "Δ vs baseline" in table and table["Δ vs baseline"].notna().any():
        changes = table[table["Δ vs baseline"].notna()]
        out += "\n\nchange against the baseline, paired on the same items:\n" + changes.pivot(
            index="model", columns="item set", values="Δ vs baseline").to_string()
    return out + "\n"
