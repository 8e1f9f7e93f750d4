"""The STaR outer loop (Zelikman et al., 2022), without rationalization, shared by experiments A
and B: sample rationales on the training questions, keep those that reach the right answer,
fine-tune on them, validate, repeat. The best outer loop by validation accuracy is the result;
as in the pause study, the 3 best loops by validation accuracy and the last are kept for testing.

The loop is generic over the task through small callables, so pause tokens (A), reward
conditioning (A) and multiple choice in two languages (B) all run through this one function:
- `sample(model, rows) -> list[list[str]]`: `samples_per_question` replies per row;
- `is_correct(row, reply) -> bool`;
- `finetune(model, rows, samples, flags, loop) -> model`: trains on what was kept (SFT on the
  correct replies, or DPO pairs of correct vs incorrect; see `correct_rows` / `preference_pairs`);
- `validate(model) -> float | dict`: validation accuracy, which picks the best loop (a dict
  carries it under "accuracy", beside anything else worth logging per loop, and may hand back
  its per-item predictions under "records").

Every finished outer loop is checkpointed (`loop-<i>/`: the model, the kept samples, the
validation predictions, the metrics); a killed run resumes after its last finished loop, and a
finished one extended with more loops continues after its last. A task saves its model as a delta
checkpoint where it can (`reason_lib.models.delta`: LoRA adapters and pause parts, tens of MB at
7B, on top of the loop or model they continue); of full models (~15 GB each at 7B) only the
tested loops' (the `tested` best and the last) stay on disk, with every folder a kept delta needs. The starting model
is not saved again when the caller can reload it (`reload_start`).
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import torch
from tqdm.auto import tqdm

from reason_lib import distributed
from reason_lib.disk import atomic_write
from reason_lib.models.delta import ancestors, is_delta
from reason_lib.stats import proportion


def correct_rows(rows: list[dict], samples: list[list[str]], flags: list[list[bool]],
                 one_per_question: bool = False, seed: int = 0) -> list[tuple[dict, str]]:
    """(row, reply) for every correct reply — or one chosen at random per question."""
    rng = random.Random(seed)
    kept = []
    for row, replies, ok in zip(rows, samples, flags):
        good = [r for r, f in zip(replies, ok) if f]
        if one_per_question and good:
            good = [rng.choice(good)]
        kept += [(row, r) for r in good]
    return kept


def preference_pairs(rows: list[dict], samples: list[list[str]], flags: list[list[bool]],
                     seed: int = 0) -> list[tuple[dict, str, str]]:
    """(row, chosen, rejected) for each question with both a correct and an incorrect reply:
    as many pairs as the smaller side has, without reusing a reply."""
    rng = random.Random(seed)
    pairs = []
    for row, replies, ok in zip(rows, samples, flags):
        good = [r for r, f in zip(replies, ok) if f]
        bad = [r for r, f in zip(replies, ok) if not f]
        rng.shuffle(good)
        rng.shuffle(bad)
        pairs += [(row, g, b) for g, b in zip(good, bad)]
    return pairs


# As in the pause study: the 3 best loops by validation accuracy (and the last) are tested
# (the experiments' `tested_best`).
TESTED = 3


def _finished_loops(output_dir: Path) -> list[Path]:
    done = [p for p in output_dir.glob("loop-*") if (p / "metrics.json").is_file()]
    return sorted(done, key=lambda p: int(p.name.split("-")[1]))


def star(model, tokenizer, rows: list[dict], *, sample, is_correct, finetune, validate,
         output_dir, outer_loops: int = 3, load=None, reload_start=None, save=None, run=None,
         log_prefix: str = "", resume: bool = False, progress: bool = True,
         tested: int = TESTED, seed: int = 0, also_ranked_by: tuple[str, ...] = ()) -> dict:
    """Run `outer_loops` STaR iterations from `model`; returns {"model": best model, "best_loop",
    "history": per-loop metrics (loop 0 = the starting model's validation accuracy),
    "tested_loops": the `tested` best loops by validation accuracy and the last, in loop order,
    "load": loop -> that loop's model (for the tested loops)}.

    `load(path) -> model` reloads a checkpointed loop (for resume and for the best loop); it
    defaults to the model class's `from_pretrained`. `reload_start() -> model` gives the starting
    model again (from where it was loaded): then loop 0 keeps no copy of it. `save(model,
    tokenizer, folder, loop)` writes a loop's model (default: `save_pretrained` of both).
    Checkpoints go to `output_dir/loop-<i>/`; models of loops that are neither among the `tested`
    best so far nor the last, nor needed by their deltas, are deleted (their samples, validation
    predictions and metrics stay). `also_ranked_by`: other entries of the validation dict (e.g.
    a second language, `ranked(history, key)` ranks by it) whose tested loops are kept too, for
    runs that train the same models and pick their loop by another validation.

    Each loop starts by seeding torch's generator from (`seed`, loop): its rollouts, any new
    adapters and sampled validation draw the same numbers whether the run went straight through
    or was stopped and resumed before it (the generator's state is not in a checkpoint).
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    load = load or (lambda path: type(model).from_pretrained(path))
    save = save or _save_pretrained

    def reload(loop: int):
        return reload_start() if loop == 0 and reload_start else load(output_dir / f"loop-{loop}")

    history: list[dict] = []
    finished = _finished_loops(output_dir) if resume else []
    if finished:
        history = [json.loads((p / "metrics.json").read_text()) for p in finished]
        model = reload(history[-1]["loop"])
    else:
        # loop 0 is the starting model, checkpointed too: fine-tuning changes the model in place,
        # and it may remain the best
        torch.manual_seed(loop_seed(seed, 0))
        fields, predictions = _validation(validate, model)
        history = [{"loop": 0, **fields, "kept": None}]
        _log(run, log_prefix, history[0])
        distributed.main_writes(_checkpoint, output_dir / "loop-0",
                                None if reload_start else model, tokenizer, [], [], [],
                                history[0], save, 0, predictions)
    for loop in tqdm(range(len(history), outer_loops + 1), desc=f"{log_prefix}STaR outer loops",
                     disable=not progress):
        torch.manual_seed(loop_seed(seed, loop))
        samples = sample(model, rows)
        flags = [[bool(is_correct(row, reply)) for reply in replies]
                 for row, replies in zip(rows, samples)]
        # this loop's rollouts on the training rows, drawn from the previous loop's model
        rollouts = proportion([f for fs in flags for f in fs])
        n_correct = rollouts["k"]
        model = finetune(model, rows, samples, flags, loop)
        fields, predictions = _validation(validate, model)
        entry = {"loop": loop, **fields,
                 "train_sample_accuracy": n_correct / max(1, rollouts["n"]), "rollouts": rollouts,
                 "questions_solved": sum(any(f) for f in flags) / max(1, len(flags)),
                 "kept": n_correct}
        history.append(entry)
        _log(run, log_prefix, entry)
        distributed.main_writes(_checkpoint, output_dir / f"loop-{loop}", model, tokenizer, rows,
                                samples, flags, entry, save, loop, predictions)
        distributed.main_writes(_prune, output_dir, history, tested, (None, *also_ranked_by))
    best = ranked(history)[0]
    if best["loop"] != history[-1]["loop"]:
        model = reload(best["loop"])
    return {"model": model, "best_loop": best["loop"], "history": history,
            "tested_loops": loops_to_test(history, tested), "load": reload}


def loop_seed(seed: int, loop: int) -> int:
    """The torch seed of STaR loop `loop` of a run at training seed `seed`."""
    return seed * 1_000_003 + loop


def ranked(history: list[dict], key: str | None = None) -> list[dict]:
    """Loops from the highest validation accuracy down (the best first); the earlier first among
    equals. `key`: rank by that entry of each loop's validation dict (its value) instead."""
    def score(h):
        return h["validation_accuracy"] if key is None else h["validation"][key]["value"]
    return sorted(history, key=lambda h: (-score(h), h["loop"]))


def loops_to_test(history: list[dict], tested: int, key: str | None = None) -> list[int]:
    """The `tested` best loops (by `key`, as `ranked`) and the last, in loop order."""
    return sorted({h["loop"] for h in ranked(history, key)[:tested]} | {history[-1]["loop"]})


KEEP = ("samples.jsonl", "validation.jsonl", "metrics.json")


def _prune(output_dir: Path, history: list[dict], tested: int = 1,
           keys: tuple[str | None, ...] = (None,)) -> None:
    """Delete the model files of every loop but the `tested` best so far (by each of `keys`, as
    `ranked`) and the last, and those their delta checkpoints build on: a loop outside the best
    now never re-enters them (later loops can only push it further down)."""
    kept = [output_dir / f"loop-{loop}"
            for loop in sorted(set().union(*(loops_to_test(history, tested, k) for k in keys)))]
    needed = set().union(*(ancestors(p) for p in kept if is_delta(p)))
    for h in history:
        folder = output_dir / f"loop-{h['loop']}"
        if folder not in kept and folder.resolve() not in needed:
            for path in folder.iterdir() if folder.is_dir() else []:
                if path.name not in KEEP:
                    shutil.rmtree(path) if path.is_dir() else path.unlink()


def _validation(validate, model) -> tuple[dict, list[dict] | None]:
    """(the history fields of one validation, its per-item predictions or None)."""
    result = validate(model)
    if isinstance(result, dict):
        return ({"validation_accuracy": result["accuracy"],
                 "validation": {k: v for k, v in result.items() if k not in ("accuracy", "records")}},
                result.get("records"))
    return {"validation_accuracy": float(result)}, None


def _log(run, prefix: str, entry: dict) -> None:
    if run is not None:
        run.log(entry["loop"], **{f"{prefix}{k}": v for k, v in entry.items() if k != "loop"})


def _save_pretrained(model, tokenizer, folder: Path, loop: int) -> None:
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def _checkpoint(path: Path, model, tokenizer, rows, samples, flags, entry, save, loop,
                predictions: list[dict] | None = None) -> None:
    """Model (unless None), kept samples, validation predictions (when given) and metrics of one
    finished loop; metrics.json last marks it complete."""
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if model is not None:
        save(model, tokenizer, tmp, loop)
    atomic_write(tmp / "samples.jsonl", "".join(
        json.dumps({"question": r.get("question", r.get("Question")), "reply": s, "correct": f},
                   ensure_ascii=False) + "\n"
        for r, replies, fl in zip(rows, samples, flags) for s, f in zip(replies, fl)))
    if predictions is not None:
        atomic_write(tmp / "validation.jsonl", "".join(
            json.dumps(p, ensure_ascii=False, default=str) + "\n" for p in predictions))
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)
    atomic_write(path / "metrics.json", json.dumps(entry))
