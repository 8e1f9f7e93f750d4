"""GRPO through reason_lib's training entry point (`reason_lib.train.grpo.grpo`: run logging,
reward wiring) against bare TRL `GRPOTrainer` configured identically, on the same model, data and
reward. Prints seconds per step for each side, then the ratio (reason_lib / bare TRL) last.

    python benchmarks/trl_overhead.py [--model PATH] [--steps 6] [--repeats 2]
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time

import torch

from benchmarks_common import device_and_model
from reason_lib.data import gsm8k_prompt, gsm8k_splits
from reason_lib.rewards import gsm8k_correctness
from reason_lib.train.grpo import grpo

SETTINGS = dict(per_device_train_batch_size=8, num_generations=4, max_completion_length=48,
                learning_rate=1e-5, beta=0.0, temperature=1.0, top_k=0, logging_steps=1,
                save_strategy="no", report_to="none", seed=0, gradient_checkpointing=False,
                dataloader_num_workers=0, disable_tqdm=True)


def bare(model, tok, rows, steps, out):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    args = GRPOConfig(output_dir=out, max_steps=steps, use_cpu=not torch.cuda.is_available(),
                      **SETTINGS)
    GRPOTrainer(model=model, reward_funcs=[gsm8k_correctness], args=args,
                train_dataset=Dataset.from_list(rows), processing_class=tok).train()


def ours(model, tok, rows, steps, out):
    s = SETTINGS
    grpo(model, tok, rows, [gsm8k_correctness], out, steps=steps,
         batch_size=s["per_device_train_batch_size"], num_generations=s["num_generations"],
         temperature=s["temperature"], beta=s["beta"], learning_rate=s["learning_rate"],
         max_completion_length=s["max_completion_length"], seed=s["seed"], save_steps=10 ** 6,
         save_strategy="no", disable_tqdm=True)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)
    device, model, tok = device_and_model(args.model)
    rows = [{"prompt": gsm8k_prompt(r), "answer": r["answer"]}
            for r in gsm8k_splits(64, 1, 1, seed=0)["train"]]
    times = {"reason_lib": [], "bare TRL": []}
    for _ in range(args.repeats):  # alternate, so drift in machine load hits both sides
        for name, fn in (("reason_lib", ours), ("bare TRL", bare)):
            with tempfile.TemporaryDirectory() as out:
                torch.manual_seed(0)
                t = time.perf_counter()
                fn(copy.deepcopy(model).train(), tok, rows, args.steps, out)
                times[name].append((time.perf_counter() - t) / args.steps)
    best = {k: min(v) for k, v in times.items()}
    ratio = best["reason_lib"] / best["bare TRL"]
    print(f"device {device}; {args.steps} GRPO steps per run, best of {args.repeats}")
    for name, t in best.items():
        print(f"{name:>10}: {t:.3f} s/step")
    print(f"ratio (reason_lib / bare TRL, seconds per step) {ratio:.3f}")
    return {"device": device, "seconds_per_step": best, "ratio": ratio}


if __name__ == "__main__":
    main()
