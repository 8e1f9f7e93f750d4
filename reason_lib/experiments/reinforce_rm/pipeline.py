"""Experiment D (notebook 05), REINFORCE with reward models ("Back to Basics"): the reward model
(kept or trained), its held-out accuracy, and each policy-gradient method trained from the SFT
policy against it."""

from __future__ import annotations

import copy
import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import torch
from peft import get_peft_model
from transformers import set_seed

from reason_lib import config, disk, distributed
from reason_lib.fields import memory
from reason_lib.models import count_parameters, load_model
from reason_lib.models.find import find_reward_model
from reason_lib.models.keep import keep_model
from reason_lib.models.reward_model import freeze_backbone, load_reward_model
from reason_lib.stats import proportion
from reason_lib.train.reinforce import method_settings, policy_gradient
from reason_lib.train.base import save
from reason_lib.train.reward import train_reward_model
from reason_lib.train.sft import conversation_rows, sft
from reason_lib.train.start import start_key

SFT_CARD = "sft.json"  # in a shared SFT policy's folder: its key, settings, training log, writer
RNG = "rng.json"  # ... and the random-number state its training left (written last)


def sft_policy(params, run, tokenizer, policy, train: list[dict], base_path, peft=None) -> tuple:
    """(SFT policy, its path, its training log): `policy` (the base model) fine-tuned on the
    chosen replies of `train`, kept in the run as `checkpoints/sft-model`.

    The two reward-model levels of a seed train the same SFT policy (the same base model, rows,
    settings and code). The first run to train it also leaves a copy under
    `outputs/models/sft/<base>-<key>/` with the random-number state its training left; a later
    run with the same key copies that into its own `checkpoints/sft-model` instead of training
    again, and restores the state, so that it draws next exactly what it would have drawn had it
    trained (the reward model's new head is initialised from it): its numbers are the same
    either way. Runs record the copy they used and whether they trained it (`sft_model`,
    `sft_model_reused`). With several processes every run trains its own."""
    rows = conversation_rows([r["prompt"] for r in train], [r["chosen"] for r in train])
    settings = {"epochs": params.sft_epochs, "learning_rate": params.sft_learning_rate,
                "batch_size": params.batch_size, "max_length": params.max_length,
                "seed": params.seed, "lora_r": params.lora_r if params.lora else 0,
                "dtype": params.dtype, **memory(params)}
    key = start_key(base_path, rows, settings)
    shared = (config.outputs_root() / "models" / "sft"
              / f"{Path(str(base_path).rstrip('/')).name}-{key[:12]}")
    target = run.checkpoints / "sft-model"
    reused = distributed.world_size() == 1 and (shared / RNG).is_file()
    if reused:
        _link_copy(shared, target, skip=(SFT_CARD, RNG))
        history = json.loads((shared / SFT_CARD).read_text())["history"]
        policy = load_model(target, dtype=params.dtype, device=params.device)
        _set_rng_state(json.loads((shared / RNG).read_text()))  # last: loading draws nothing after
    else:
        policy, history = sft(policy, tokenizer, rows, run.checkpoints / "sft", run=run,
                              epochs=params.sft_epochs, batch_size=params.batch_size,
                              learning_rate=params.sft_learning_rate,
                              max_length=params.max_length, seed=params.seed, peft_config=peft,
                              bf16=params.dtype == "bfloat16", resume=True, log_prefix="sft/",
                              **memory(params))
        state = _rng_state()
        if params.lora:
            policy = policy.merge_and_unload()
        save(policy, tokenizer, target)  # the reward model may start from it, loaded by path
        if distributed.world_size() == 1:
            _share(target, shared, {"key": key, "settings": settings, "base_model": str(base_path),
                                    "rows": len(rows), "trained_by": run.id,
                                    "history": history}, state)
    run.note(sft_model=str(shared), sft_model_reused=reused)
    print(f"SFT policy: {target} ({'a copy of ' + str(shared) if reused else 'trained now'})")
    return policy, str(target), history


def _rng_state() -> dict:
    """Python's, numpy's and torch's random-number state (every generator `set_seed` seeds), as
    JSON: no pickle is ever loaded."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {"python": [version, list(internal), gauss_next],
            "numpy": [kind, keys.tolist(), pos, has_gauss, gauss],
            "torch": torch.get_rng_state().tolist(),
            "cuda": [s.tolist() for s in torch.cuda.get_rng_state_all()]
            if torch.cuda.is_available() else []}


def _set_rng_state(state: dict) -> None:
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.tensor(s, dtype=torch.uint8) for s in state["cuda"]])


def _link_copy(src: Path, dst: Path, skip=()) -> None:
    """`src`'s files into a new folder `dst` (hard links where the disk allows, else copies),
    built beside it and moved into place whole."""
    tmp = dst.with_name(f"{dst.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)

    def link(a, b):
        try:
            os.link(a, b)
        except OSError:
            shutil.copy2(a, b)

    shutil.copytree(src, tmp, copy_function=link, ignore=lambda *_: list(skip))
    shutil.rmtree(dst, ignore_errors=True)
    tmp.rename(dst)


def _share(target: Path, shared: Path, card: dict, state: dict) -> None:
    """Leave a copy of the SFT policy at `target` under `shared`, its card and random-number
    state written last; when another run shared the same one meanwhile (same key: the same
    weights), its copy stays."""
    tmp = shared.with_name(f"{shared.name}.tmp-{os.getpid()}")
    _link_copy(target, tmp)
    (tmp / SFT_CARD).write_text(json.dumps(card, indent=1))
    (tmp / RNG).write_text(json.dumps(state))
    disk.move_into_place(tmp, shared, RNG)


def reward_model(params, run, tokenizer, train: list[dict], sft_path, base_path) -> tuple:
    """(reward model, its training log): a kept one (`reward_model_path`, as the study's
    --skip_reward_training; it must be of this run's level) or one trained on the `train` pairs
    from the SFT policy or the base model (`rm_init`), kept in the run."""
    if params.reward_model_path:
        rm_path, rm_level = find_reward_model(params.reward_model_path)
        if rm_level != params.level:
            raise ValueError(f"reward_model_path {params.reward_model_path!r} is a level-{rm_level} "
                             f"reward model; this run is level {params.level}")
        print("reward model loaded from", rm_path)
        return load_reward_model(rm_path, params.level, dtype=params.dtype,
                                 device=params.device), []
    init = sft_path if params.rm_init == "sft" else base_path
    model = load_reward_model(init, params.level, dtype=params.dtype, device=params.device)
    freeze_backbone(model, params.rm_trainable_layers)
    print("reward model:", count_parameters(model))
    model, history = train_reward_model(
        model, tokenizer, train, run.checkpoints / "reward_model", level=params.level, run=run,
        epochs=params.rm_epochs, batch_size=params.batch_size, learning_rate=params.rm_learning_rate,
        max_length=params.max_length, seed=params.seed, bf16=params.dtype == "bfloat16",
        resume=True, **memory(params))
    keep_model(run, "reward_model", model, tokenizer, init,
               f"Level-{params.level} reward model trained on {len(train)} preference pairs.",
               kind="reward")
    return model, history


def reward_model_metrics(scorer, test: list[dict], gold_fn=None) -> dict:
    """The reward model's held-out pairwise accuracy on the labelled pairs and, where a hidden gold
    reward exists (the offline world), on the pairs ordered by it, and how often the labels agree
    with the gold order."""
    out = {"accuracy": scorer.pairwise_accuracy(test)}
    if gold_fn is not None:
        gold_order = [r if r["gold_chosen"] > r["gold_rejected"] else
                      {**r, "chosen": r["rejected"], "rejected": r["chosen"]} for r in test]
        out["gold_accuracy"] = scorer.pairwise_accuracy(gold_order)
        out["label_agreement_with_gold"] = proportion(r["gold_chosen"] > r["gold_rejected"]
                                                      for r in test)
    return out


def train_method(method: str, params, run, sft_policy, sft_path, tokenizer,
                 train_prompts: list[dict], scorer, peft=None, diagnostics=None, on_step=None):
    """One of the study's methods (`method_settings`) from a fresh copy of the SFT policy, seeded
    alone, against `scorer`; the final policy is kept in the run as soon as training ends, before
    anything evaluates it. Returns (policy, its PolicyGradientConfig)."""
    set_seed(params.seed)
    policy = copy.deepcopy(sft_policy).requires_grad_(True).train()
    if params.lora:
        policy = get_peft_model(policy, peft)
    settings = method_settings(method, params)  # shared values, or the method's own overrides

    def keep(model):
        keep_model(run, f"policy-{method}", model, tokenizer, sft_path,
                   f"{method} policy ({settings.steps} steps against the level-{params.level} "
                   "reward model).")

    policy, _ = policy_gradient(policy, tokenizer, train_prompts, scorer, run.checkpoints / method,
                                settings, ref_model=sft_policy, run=run, log_prefix=f"{method}/",
                                diagnostics=diagnostics, on_step=on_step, resume=True, keep=keep)
    return policy, settings


def logged_curve(run, method: str, start: dict) -> list[dict]:
    """A method's curve from the run's log (every point, those before a resume too), after its
    starting point (the SFT policy's scores)."""
    return [{"step": 0, **start}] + [{"step": h["step"], **h[f"{method}/curve"]}
                                     for h in run.history() if f"{method}/curve" in h]
