"""Every benchmark in this folder, one after the other; the results go to
outputs/bench/<run_id>/bench.json, and their ratios to results.json in the format of the reference
results (what `make bench` runs; `make reference PROFILE=bench RUN=outputs/bench/<run_id>/results.json`
makes them the README's benchmark table).

    python benchmarks/run_all.py [--profile cpu|smol] [--model PATH]

`--profile cpu` (the default) measures the cpu profile's tiny model shape: reason_lib against
TRL and transformers. `--profile smol` measures the real model of the smol profile
(SmolLM2-135M-Instruct, `make smol-model`): the machine's matmul bound, sampled rollouts of
batch 32 x 128 tokens in float32 (today's path) and in bfloat16 against `generate` and one
question at a time, and LoRA training in both dtypes; its results file is profile `bench_smol`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reason_lib import results as reference  # noqa: E402
from reason_lib.make_args import with_make_args  # noqa: E402
from reason_lib.config import outputs_root  # noqa: E402
from reason_lib.disk import atomic_write
from reason_lib.runs import _git_commit, _now

# (key in bench.json, script, its arguments beyond --model)
CPU = [("trl_overhead", "trl_overhead", []), ("pause_decode", "pause_decode", []),
       ("rollouts", "rollouts", [])]
ROLLOUT = ["--n", "32", "--new-tokens", "128", "--temperature", "1.0", "--repeats", "2",
           "--one-at-a-time", "4"]
SMOL = [("machine", "machine", []),
        ("rollouts_float32", "rollouts", ["--dtype", "float32", *ROLLOUT]),
        ("rollouts_bfloat16", "rollouts", ["--dtype", "bfloat16", *ROLLOUT]),
        ("lora_train", "lora_train", [])]
BENCHMARKS = {"cpu": CPU, "smol": SMOL}
SMOL_MODEL = "smollm2-135m-instruct"  # under outputs/models (`make smol-model`)


def _tps(r, key, side="reason_lib"):
    return r[key]["tokens_per_s"][side]


# (row of the README's table, value from bench.json): what each profile reports
ROWS = {
    "cpu": [
        ("trl_overhead: s/step of reason_lib's GRPO entry point / bare GRPOTrainer",
         lambda r: r["trl_overhead"]["ratio"]),
        ("pause_decode: tokens/s of pause-LM decoding / generate", lambda r: r["pause_decode"]["ratio"]),
        ("rollouts: tokens/s of reason_lib.generate / generate called directly",
         lambda r: r["rollouts"]["ratio_vs_direct"]),
        ("rollouts: tokens/s of batched / one question at a time",
         lambda r: r["rollouts"]["ratio_vs_one_at_a_time"])],
    "smol": [
        ("rollouts: tokens/s, reason_lib.generate in float32 (sampled, batch 32 x 128)",
         lambda r: _tps(r, "rollouts_float32")),
        ("rollouts: tokens/s, reason_lib.generate in bfloat16", lambda r: _tps(r, "rollouts_bfloat16")),
        ("rollouts: tokens/s, generate called directly in float32 (torch.multinomial: the path "
         "before issue 22)", lambda r: _tps(r, "rollouts_float32", "direct")),
        ("rollouts: bfloat16 reason_lib.generate / float32 generate called directly (target >= 2)",
         lambda r: _tps(r, "rollouts_bfloat16") / _tps(r, "rollouts_float32", "direct")),
        ("rollouts: bfloat16 / float32 reason_lib.generate",
         lambda r: _tps(r, "rollouts_bfloat16") / _tps(r, "rollouts_float32")),
        ("rollouts: reason_lib.generate / generate called directly, bfloat16 (target >= 0.95)",
         lambda r: r["rollouts_bfloat16"]["ratio_vs_direct"]),
        ("rollouts: reason_lib.generate / generate called directly, float32",
         lambda r: r["rollouts_float32"]["ratio_vs_direct"]),
        ("rollouts: batched / one question at a time, bfloat16 (target >= 10)",
         lambda r: r["rollouts_bfloat16"]["ratio_vs_one_at_a_time"]),
        ("rollouts: batched / one question at a time, float32",
         lambda r: r["rollouts_float32"]["ratio_vs_one_at_a_time"]),
        ("machine: share of the float32 matmul bound reached by float32 rollouts",
         lambda r: _tps(r, "rollouts_float32") / r["machine"]["bound_tokens_per_s"]["float32"]),
        ("machine: share of the bfloat16 matmul bound reached by bfloat16 rollouts",
         lambda r: _tps(r, "rollouts_bfloat16") / r["machine"]["bound_tokens_per_s"]["bfloat16"]),
        ("machine: GFLOPS of a 2048^2 matmul, float32", lambda r: r["machine"]["gflops"]["float32"]),
        ("machine: GFLOPS of a 2048^2 matmul, bfloat16", lambda r: r["machine"]["gflops"]["bfloat16"]),
        ("lora_train: training tokens/s, float32", lambda r: r["lora_train"]["tokens_per_s"]["float32"]),
        ("lora_train: training tokens/s, bfloat16", lambda r: r["lora_train"]["tokens_per_s"]["bfloat16"]),
        ("lora_train: bfloat16 / float32", lambda r: r["lora_train"]["ratio"])],
}


def as_reference(results: dict, started: str, profile: str = "cpu") -> dict:
    """The profile's rows as a results file (`reason_lib.results`): one metric per row."""
    return {"profile": "bench" if profile == "cpu" else f"bench_{profile}", "started": started,
            "ended": _now(),
            "metrics": {reference.SEP.join(["benchmarks", row, "value" if profile != "cpu" else "ratio"]):
                        round(value(results), 2) for row, value in ROWS[profile]},
            "commits": [_git_commit()],
            "devices": sorted({r["device"] for r in results.values() if "device" in r})}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--profile", default="cpu", choices=sorted(ROWS))
    ap.add_argument("--model", default=None)
    args = ap.parse_args(with_make_args(sys.argv[1:]))
    model = args.model or (str(outputs_root() / "models" / SMOL_MODEL) if args.profile == "smol"
                           else None)
    if model and not Path(model).exists() and args.profile == "smol":
        raise SystemExit(f"no model at {model}: `make smol-model` converts SmolLM2-135M-Instruct")
    extra = ["--model", model] if model else []
    results, started = {}, _now()
    for key, script, arguments in BENCHMARKS[args.profile]:
        print(f"== {key}", flush=True)
        results[key] = importlib.import_module(script).main(extra + arguments)
    run_id = f"{dt.datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    path = outputs_root() / "bench" / run_id / "bench.json"
    atomic_write(path, json.dumps({"profile": args.profile, "model": model, **results}, indent=2))
    ratios = as_reference(results, started, args.profile)
    reference.write_result(ratios, path.parent, "results")
    print(f"written: {path} and results.json "
          f"(`make reference PROFILE={ratios['profile']} RUN={path.parent}/results.json`)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
