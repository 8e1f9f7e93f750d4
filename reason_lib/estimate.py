"""Peak GPU memory and disk of a run, estimated from its parameters before anything loads.

    python -m reason_lib.estimate <experiment> --profile gpu [--gpu-gib 80]

A gpu run prints this first and stops when the estimate exceeds the device's memory. The model is
described by its architecture (layers, widths, heads, vocabulary): known Hub ids from the table in
`reason_lib.cost` (each model's config.json), anything else read with `AutoConfig`. Each
experiment's phases are in its `reason_lib/experiments/<name>/cost.py`. Rules of thumb, stated so
they can be checked against a measured run:
- weights: parameters x bytes of `dtype`; trained weights (LoRA adapters, pause parts) in float32
  with their gradient and AdamW's two moments: 16 bytes each;
- activations kept for backward, per token of a micro-batch and per block: 34 x hidden bytes in
  bfloat16 with a fused (flash / SDPA) attention (Korthikanti et al., 2022, without the attention
  matrix); with gradient checkpointing only each block's input (2 x hidden bytes) plus one block
  recomputed; plus the float32 logits and their gradient at the scored positions;
- generation: the KV cache of every sequence generated together, 2 x layers x kv_heads x head_dim
  x bytes per token, plus a 10 % allowance for the allocator;
- disk: every model the run saves in full (SFT policies, STaR loops without LoRA: the best and
  the last), every delta checkpoint (`models.delta`: LoRA adapters, pause parts and any LM head or
  embeddings trained outright, in float32) and trainer checkpoints (trained weights and optimiser
  state).
- time, on one H100 SXM (`GPU`: NVIDIA's datasheet peak, at the shares of it stated there):
  training and prefill cost 2 x parameters FLOPs per token forward, as much again backward for
  the activations, again for the weights when they train in full, and a forward more with
  gradient checkpointing. A decoding step (one token for a whole batch) takes the longest of
  three floors (`decode_step_s`): reading the weights and the batch's KV cache at the engine's
  share of the bandwidth; its FLOPs; and, for transformers' eager `generate` (everything here
  but GRPO with `use_vllm`), the host launching every kernel one by one, measured
  (`decode_host.json`: seconds per step and per layer, more per layer with unmerged LoRA, from
  `python -m reason_lib.estimate --measure-host`, the method of transformers issue #43089: the
  real architecture class at width 16, where the kernels cost nothing and what is left is the
  framework; a lower bound on a GPU, where each launch costs more than a 16-wide CPU op).
  Bandwidth shares: 0.6 for eager decoding (a published eager step of Llama-3.1-8B on an H100 SXM
  is 8.4 ms, against 4.8 ms to read its weights once), 0.9 for vLLM (CUDA graphs: 5.1 ms in the
  same measurement). Phases add up; every reply runs to its token limit and every STaR rollout
  is counted as kept (upper bounds). Unvalidated until a GPU run records a measured time beside it.
- prompts: the lengths of the real prompts, chat template included (`prompt_lengths.json`, from
  `python -m reason_lib.estimate --measure-prompts`, counted with SmolLM2's tokenizer as a proxy
  for the gpu models'): time uses their mean; memory the longest batch, since batches are sorted
  by length and the last holds the longest prompts (a KV cache and prefill temporaries of
  batch x the longest prompt). Training sequences: half of `max_length` on average.
- two resident models where the code holds two: testing a STaR run's other tested loops beside
  its best (notebooks 02 and 03) and reloading the best loop at the end of `train.star`.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from reason_lib import config
from reason_lib.cost import ALLOCATOR, GIB, HOST_FILE, PROMPT_FILE, PROMPT_SOURCES, Costing
from reason_lib.data.gsm8k import gsm8k_prompt, load_gsm8k
from reason_lib.data.mmlu import load_mmlu, mc_prompt
from reason_lib.data.preferences import load_preferences
from reason_lib.disk import atomic_write
from reason_lib.experiments.base_model import cost as base_model_cost
from reason_lib.experiments.pause_star import cost as pause_star_cost
from reason_lib.experiments.pause_warmup import cost as pause_warmup_cost
from reason_lib.experiments.perplexity_grpo import cost as perplexity_grpo_cost
from reason_lib.experiments.reinforce_rm import cost as reinforce_rm_cost
from reason_lib.experiments.star_mmlu import cost as star_mmlu_cost
from reason_lib.generate import render_prompts
from reason_lib.models import load_tokenizer
from reason_lib.runs import processor


@dataclass
class Estimate:
    """Peak GPU memory by component (bytes), the phase it peaks in, and disk (bytes)."""

    experiment: str
    model: str
    components: dict
    phase: str
    disk: float

    @property
    def peak(self) -> float:
        return sum(self.components.values()) * ALLOCATOR

    def text(self) -> str:
        parts = ", ".join(f"{k} {v / GIB:.1f}" for k, v in self.components.items())
        return (f"{self.experiment} ({self.model}): peak GPU memory ~{self.peak / GIB:.1f} GiB "
                f"in {self.phase} ({parts}; x{ALLOCATOR} allocator), disk ~{self.disk / GIB:.1f} GiB")


def _costing(experiment: str, p) -> Costing:
    if experiment not in COSTS:
        raise ValueError(f"no estimate for experiment {experiment!r}")
    return Costing(p, getattr(p, config.EXPERIMENTS[experiment].model_field))


def _phases(experiment: str, p) -> tuple[str, dict[str, dict], float]:
    """(model id, {phase: {component: bytes}}, disk bytes) for one experiment's params."""
    c = _costing(experiment, p)
    phases, disk = COSTS[experiment].memory(c)
    return c.model, phases, disk


def _seconds(experiment: str, p) -> dict[str, float]:
    """{phase: seconds} of one experiment's params on one `GPU` (see the module docstring)."""
    return COSTS[experiment].seconds(_costing(experiment, p))


def hours(experiment: str, params) -> float:
    """Estimated hours of the whole run on one `GPU`."""
    return sum(_seconds(experiment, params).values()) / 3600


# The training experiments the estimator knows, each by its `cost` module (evaluate and summary
# load what others trained).
COSTS = {"base_model": base_model_cost, "pause_warmup": pause_warmup_cost,
         "pause_star": pause_star_cost, "star_mmlu": star_mmlu_cost,
         "perplexity_grpo": perplexity_grpo_cost, "reinforce_rm": reinforce_rm_cost}
ESTIMATED = tuple(COSTS)


def estimate(experiment: str, params) -> Estimate:
    """The run's peak GPU memory (its heaviest phase) and disk, from its parameters."""
    model, phases, disk = _phases(experiment, params)
    phase = max(phases, key=lambda k: sum(phases[k].values()))
    return Estimate(experiment, model, phases[phase], phase, disk)


def check_fits(experiment: str, params, device_bytes: float | None = None) -> Estimate | None:
    """Print the estimate of a run on a CUDA device and raise MemoryError, before anything loads,
    when it exceeds the device's memory (`device_bytes`, default: the current CUDA device's)."""
    import torch

    if experiment not in ESTIMATED or params.device not in ("cuda", "auto") or (
            device_bytes is None and not torch.cuda.is_available()):
        return None
    est = estimate(experiment, params)
    total = device_bytes or torch.cuda.get_device_properties(0).total_memory
    print(f"estimate: {est.text()}; device {total / GIB:.0f} GiB", flush=True)
    if est.peak > total:
        raise MemoryError(
            f"{experiment}: estimated peak GPU memory {est.peak / GIB:.1f} GiB exceeds the "
            f"device's {total / GIB:.1f} GiB (in {est.phase}). Lower micro_batch_size or "
            "eval_batch_size, turn on gradient_checkpointing, or use a larger GPU.")
    return est


def table(profile: str = "gpu", gpu_gib: float = 80.0, experiments: list[str] | None = None) -> str:
    """The estimate of every experiment's `profile` as a markdown table (README: `make readme`)."""
    names = experiments or [e for e in config.EXPERIMENTS if e in ESTIMATED]
    lines = [f"| experiment | model | peak GPU memory (GiB) | heaviest phase | fits {gpu_gib:.0f} GiB "
             "| disk (GiB) | time on one H100 (h) |", "|---|---|---|---|---|---|---|"]
    for name in names:
        params = config.load_params(name, profile)
        est = estimate(name, params)
        lines.append(f"| {name} | {est.model} | {est.peak / GIB:.1f} | {est.phase} | "
                     f"{'yes' if est.peak <= gpu_gib * GIB else 'no'} | {est.disk / GIB:.1f} | "
                     f"{_hours_text(hours(name, params))} |")
    return "\n".join(lines) + "\n"


def _hours_text(h: float) -> str:
    return f"{h:.1f}" if h >= 1 else f"{h:.2f}"


# -- the measured inputs ---------------------------------------------------------------------------
def task_prompts(task: str, data: Path) -> list:
    """Every prompt of `task` (chat messages, as the experiments build them) from its real data."""
    files = [str(Path(data) / f) for f in PROMPT_SOURCES[task]]
    if task == "gsm8k":
        return [gsm8k_prompt(r) for f in files for r in load_gsm8k(f)]
    if task == "mmlu":
        return [mc_prompt(r) for f in files for r in load_mmlu(f)]
    # the policy's prompt is the whole dialogue before the reply (context_turns 0, as gpu.yaml)
    return [r["prompt"] for f in files for r in load_preferences(f, skip_malformed=True)]


def measure_prompts(tokenizer, data: Path) -> dict:
    """{task: length statistics in tokens} of every task's real prompts rendered through
    `tokenizer`'s chat template (`generate.render_prompts`), as the experiments render them."""
    out = {}
    for task, sources in PROMPT_SOURCES.items():
        texts = render_prompts(tokenizer, task_prompts(task, data))
        counts = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
        lengths = sorted(counts)
        out[task] = {"sources": list(sources), "rows": len(lengths),
                     "mean": round(sum(lengths) / len(lengths), 1),
                     "p99": lengths[min(len(lengths) - 1, int(0.99 * len(lengths)))],
                     "max": lengths[-1],  # its row, counting through the sources in order:
                     "longest_row": counts.index(lengths[-1]) + 1}
    return out


def fit_host(points: list[dict]) -> dict:
    """Least squares of step seconds = step_s + layers x layer_s, plus with unmerged LoRA
    lora_step_s + layers x lora_layer_s (peft's wrapper costs per step and per layer)."""
    import numpy as np

    x = np.array([[1.0, p["layers"], p["lora"], p["layers"] * p["lora"]] for p in points])
    y = np.array([p["step_s"] for p in points])
    coef = np.linalg.lstsq(x, y, rcond=None)[0]
    return dict(zip(("step_s", "layer_s", "lora_step_s", "lora_layer_s"), (float(c) for c in coef)))


def measure_host(layers=(2, 8, 16, 24, 32), new_tokens: int = 64, repeats: int = 7,
                 lora_r: int = 16) -> dict:
    """Host seconds per eager decoding step: transformers' `generate` on the real architecture
    class (Llama) at width 16, so its kernels cost nothing and the framework is what is timed,
    with and without unmerged all-linear LoRA; the fastest of `repeats`, one thread."""
    import time

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    points = []
    try:
        for n_layers in layers:
            for lora in (False, True):
                torch.manual_seed(0)
                model = LlamaForCausalLM(LlamaConfig(
                    vocab_size=256, hidden_size=16, intermediate_size=16, num_hidden_layers=n_layers,
                    num_attention_heads=1, num_key_value_heads=1, pad_token_id=0)).eval()
                if lora:
                    model = get_peft_model(model, LoraConfig(r=lora_r, target_modules="all-linear"))
                ids = torch.ones(1, 16, dtype=torch.long)

                def run(n):
                    start = time.perf_counter()
                    with torch.no_grad():
                        model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                       max_new_tokens=n, min_new_tokens=n, do_sample=False)
                    return time.perf_counter() - start

                run(4)  # warm-up
                step = min((run(new_tokens) - run(1)) / (new_tokens - 1) for _ in range(repeats))
                points.append({"layers": n_layers, "lora": lora, "step_s": step})
    finally:
        torch.set_num_threads(threads)
    import transformers

    return {"measured_on": processor(), "torch": torch.__version__,
            "transformers": transformers.__version__, "new_tokens": new_tokens, "lora_r": lora_r,
            "points": points, "fit": fit_host(points)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reason_lib.estimate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiments", nargs="*", default=[])
    parser.add_argument("--profile", default="gpu")
    parser.add_argument("--gpu-gib", type=float, default=80.0)
    parser.add_argument("--measure-prompts", action="store_true",
                        help=f"count the real prompts' tokens into {PROMPT_FILE.name}")
    parser.add_argument("--tokenizer", default="outputs/models/smollm2-135m-instruct",
                        help="the tokenizer --measure-prompts counts with (`make smol-model`)")
    parser.add_argument("--data", default=None, help="the real data folder (default: "
                        "$REASON_LIB_DATA, else ../shared/data beside the checkout)")
    parser.add_argument("--measure-host", action="store_true",
                        help=f"time eager decoding's host overhead into {HOST_FILE.name}")
    args = parser.parse_args(argv)
    if args.measure_prompts:
        source = config.resolve_source(args.tokenizer)
        tasks = measure_prompts(load_tokenizer(source),
                                Path(args.data) if args.data else config.data_root())
        manifest = Path(source) / "manifest.json"
        name = f"{args.tokenizer} ({json.loads(manifest.read_text()).get('source')})" \
            if manifest.is_file() else args.tokenizer
        text = json.dumps({"tokenizer": name, "tasks": tasks}, indent=1) + "\n"
        atomic_write(PROMPT_FILE, text)
        print(text)
        return 0
    if args.measure_host:
        text = json.dumps(measure_host(), indent=1) + "\n"
        atomic_write(HOST_FILE, text)
        print(text)
        return 0
    print(table(args.profile, args.gpu_gib, args.experiments), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
