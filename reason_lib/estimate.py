"""Peak GPU memory and disk of a run, estimated from its parameters before anything loads.

    python -m reason_lib.estimate <experiment> --profile gpu [--gpu-gib 80]

A gpu run prints this first and stops when the estimate exceeds the device's memory. The model is
described by its architecture (layers, widths, heads, vocabulary): known Hub ids from the table
below (each model's config.json), anything else read with `AutoConfig`. Rules of thumb, stated so
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
import math
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from reason_lib import config
from reason_lib.config import resolve_source
from reason_lib.data.gsm8k import gsm8k_prompt, load_gsm8k
from reason_lib.data.mmlu import load_mmlu, mc_prompt
from reason_lib.data.preferences import load_preferences
from reason_lib.disk import atomic_write
from reason_lib.experiments.pause_star.params import parse_variant
from reason_lib.experiments.reinforce_rm.params import method_values
from reason_lib.generate import render_prompts
from reason_lib.models import load_tokenizer
from reason_lib.runs import processor

GIB = 2 ** 30
BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
ALLOCATOR = 1.10
# H100 SXM 80 GB: dense bfloat16 FLOP/s and HBM bytes/s; 35 % of the FLOPs reached in training
GPU = {"flops": 989e12, "bandwidth": 3.35e12, "mfu": 0.35}
# decoding engines: the share of the bandwidth a step reaches, and whether the host launches each
# kernel (eager) or replays the step as one CUDA graph (vLLM). The shares from one published
# measurement of Llama-3.1-8B on an H100 SXM (cloudai.pt, "CUDA Graphs + torch.compile: 1.65x LLM
# Decode Speedup"): 8.4 ms a step eager, 5.1 ms with CUDA graphs; 16 GB of weights take 4.8 ms
ENGINES = {"eager": {"bandwidth_share": 0.6, "host": True},
           "vllm": {"bandwidth_share": 0.9, "host": False}}
STUDIES = Path(__file__).parent / "studies"
PROMPT_FILE = STUDIES / "prompt_lengths.json"
HOST_FILE = STUDIES / "decode_host.json"
# the real data each task's prompts come from, under the data folder (`config.data_root`)
PROMPT_SOURCES = {"gsm8k": ("gsm8k/train.jsonl", "gsm8k/test.jsonl"), "mmlu": ("mmlu/test.csv",),
                  "hh": ("hh-rlhf/harmless-base-test.jsonl.gz",)}


@dataclass(frozen=True)
class Architecture:
    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    vocab: int
    tied: bool
    qkv_bias: bool = False

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def block_params(self) -> int:
        """Attention (q, k, v, o), gated MLP (gate, up, down) and the two RMS norms."""
        kv = self.kv_heads * self.head_dim
        bias = (self.hidden + 2 * kv) if self.qkv_bias else 0
        return (2 * self.hidden * self.hidden + 2 * self.hidden * kv + bias
                + 3 * self.hidden * self.intermediate + 2 * self.hidden)

    @property
    def params(self) -> int:
        embeddings = self.vocab * self.hidden * (1 if self.tied else 2)
        return embeddings + self.layers * self.block_params + self.hidden  # + the final norm

    def lora_params(self, r: int) -> int:
        """LoRA on every linear layer of the blocks ("all-linear"): r x (in + out) each."""
        kv = self.kv_heads * self.head_dim
        shapes = [(self.hidden, self.hidden), (self.hidden, kv), (self.hidden, kv),
                  (self.hidden, self.hidden), (self.hidden, self.intermediate),
                  (self.hidden, self.intermediate), (self.intermediate, self.hidden)]
        return self.layers * sum(r * (a + b) for a, b in shapes)

    def kv_bytes_per_token(self, dtype_bytes: int) -> int:
        return 2 * self.layers * self.kv_heads * self.head_dim * dtype_bytes


# From each model's config.json on the Hub (num_hidden_layers, hidden_size, intermediate_size,
# num_attention_heads, num_key_value_heads, vocab_size, tie_word_embeddings).
ARCHITECTURES = {
    "mistralai/Mistral-7B-v0.1": Architecture(32, 4096, 14336, 32, 8, 32000, False),
    "meta-llama/Llama-3.1-8B-Instruct": Architecture(32, 4096, 14336, 32, 8, 128256, False),
    "Qwen/Qwen2.5-1.5B-Instruct": Architecture(28, 1536, 8960, 12, 2, 151936, True, qkv_bias=True),
    "HuggingFaceTB/SmolLM2-360M-Instruct": Architecture(32, 960, 2560, 15, 5, 49152, True),
    "HuggingFaceTB/SmolLM2-135M-Instruct": Architecture(30, 576, 1536, 9, 3, 49152, True),
}


def architecture(source: str) -> Architecture:
    """The architecture of a Hub id from the table, else from its config (path or Hub id)."""
    if source in ARCHITECTURES:
        return ARCHITECTURES[source]
    from transformers import AutoConfig


    c = AutoConfig.from_pretrained(resolve_source(source))
    return Architecture(c.num_hidden_layers, c.hidden_size, c.intermediate_size,
                        c.num_attention_heads, getattr(c, "num_key_value_heads", None)
                        or c.num_attention_heads, c.vocab_size,
                        bool(getattr(c, "tie_word_embeddings", False)),
                        qkv_bias=bool(getattr(c, "attention_bias", c.model_type == "qwen2")))


def activations(arch: Architecture, sequences: int, tokens: int, checkpointing: bool,
                scored_tokens: int | None = None) -> float:
    """Bytes kept for backward by `sequences` x `tokens` (bfloat16 blocks, float32 logits)."""
    per_token_block = 34 * arch.hidden
    if checkpointing:
        blocks = sequences * tokens * (2 * arch.hidden * arch.layers + per_token_block)
    else:
        blocks = sequences * tokens * per_token_block * arch.layers
    logits = sequences * (scored_tokens or tokens) * arch.vocab * 4 * 2
    return blocks + logits


def kv_cache(arch: Architecture, sequences: int, tokens: int, dtype_bytes: int) -> float:
    return sequences * tokens * arch.kv_bytes_per_token(dtype_bytes)


def prefill_temporaries(arch: Architecture, sequences: int, tokens: int, dtype_bytes: int) -> float:
    """Bytes alive inside one block while a batch's prompts pass through it together: the gated
    MLP's gate, up and product (3 x intermediate) and a few hidden-state copies (4 x hidden) per
    token (attention through SDPA keeps no score matrix; `generate` keeps the last logits only)."""
    return sequences * tokens * (3 * arch.intermediate + 4 * arch.hidden) * dtype_bytes


@lru_cache(maxsize=None)
def prompt_lengths() -> dict:
    """{task: {"mean", "p99", "max", "rows", "sources"}}: the measured prompt lengths in tokens."""
    return json.loads(PROMPT_FILE.read_text())["tasks"]


@lru_cache(maxsize=None)
def host_fit() -> dict:
    """{"step_s", "layer_s", "lora_step_s", "lora_layer_s"}: the measured host time of an eager
    decoding step (`fit_host`)."""
    return json.loads(HOST_FILE.read_text())["fit"]


def generation_memory(arch: Architecture, dtype_bytes: int, batch: int, task: str,
                      new_tokens: int) -> dict:
    """The longest batch's KV cache (the batch x the longest prompt and its reply) and what
    prefill holds beyond it (its temporaries, less the cache the reply has not filled yet)."""
    longest = prompt_lengths()[task]["max"]
    kv = kv_cache(arch, batch, longest + new_tokens, dtype_bytes)
    prefill = prefill_temporaries(arch, batch, longest, dtype_bytes) \
        - kv_cache(arch, batch, new_tokens, dtype_bytes)
    return {f"KV cache (longest batch: {batch} x {longest} + {new_tokens} tokens)": kv,
            "prefill temporaries": max(0.0, prefill)}


def reward_model_bytes(arch: Architecture, dtype_bytes: int, trainable_layers: int,
                       labels: int, training: bool) -> float:
    """A reward model's bytes: what trains is float32 (`models.reward_model.freeze_backbone`),
    in training with its gradient and AdamW's moments (16 bytes), the frozen rest in the dtype.
    `trainable_layers` -1 trains every parameter (full-parameter, not LoRA)."""
    head = arch.hidden * labels
    total = arch.params + head
    trained = total if trainable_layers < 0 else \
        trainable_layers * arch.block_params + arch.hidden + head
    return trained * (16 if training else 4) + (total - trained) * dtype_bytes


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


def _phases(experiment: str, p) -> tuple[str, dict[str, dict], float]:
    """(model id, {phase: {component: bytes}}, disk bytes) for one experiment's params."""
    model = getattr(p, config.EXPERIMENTS[experiment].model_field)
    arch = architecture(model)
    b = BYTES[p.dtype]
    weights = arch.params * b
    ckpt = getattr(p, "gradient_checkpointing", False)
    micro = getattr(p, "micro_batch_size", 0) or getattr(p, "batch_size", 1)
    lora = arch.lora_params(p.lora_r) if getattr(p, "lora", True) and hasattr(p, "lora_r") else 0
    full = weights  # one saved model, in its dtype

    def gen(task, batch=None, new=None):
        return generation_memory(arch, b, batch or p.eval_batch_size, task, new or p.max_new_tokens)

    if experiment == "base_model":
        tasks = ["gsm8k"] + (["mmlu"] if getattr(p, "real_mmlu", "") else [])
        task = max(tasks, key=lambda t: prompt_lengths()[t]["max"])
        return model, {"evaluation": {"weights": weights, **gen(task)}}, \
            full if p.save_to else 0.0
    if experiment in ("pause_warmup", "pause_star"):
        n_trained = lora + 2 * arch.hidden + 1 \
            + arch.vocab * arch.hidden * (getattr(p, "lm_head", False) + getattr(p, "lm_embeddings", False))
        trained, delta = n_trained * 16, n_trained * 4  # in training (AdamW); saved, float32
        train = {"weights": weights, "trained weights + AdamW": trained,
                 "activations": activations(arch, micro, p.max_length, ckpt)}
        phases = {"training": train, "rollouts": {"weights": weights, **gen("gsm8k")}}
        if experiment == "pause_warmup":
            return model, phases, (delta if p.save_model else 0.0) + trained
        # testing a variant's other tested loops beside its best (notebook 02; the best is also
        # reloaded beside the last at the end of `train.star`)
        phases["testing other loops (two models)"] = {"weights (two models)": 2 * weights,
                                                      **gen("gsm8k")}
        # two warm-ups, then each variant's best and last loop (`train.star`), as deltas
        disk = delta * (2 + len(p.variants) * min(2, p.outer_loops))
        return model, phases, disk + trained
    if experiment == "star_mmlu":
        train = {"weights": weights, "LoRA + AdamW": lora * 16,
                 "activations (DPO: chosen + rejected)": activations(arch, 2 * micro, p.max_length, ckpt)}
        sampled = p.sample_batch_size or p.eval_batch_size * p.samples_per_question
        phases = {"training": train, "rollouts": {"weights": weights, **gen("mmlu", sampled)},
                  "testing other loops (two models)": {"weights (two models)": 2 * weights,
                                                       **gen("mmlu")}}
        # with LoRA every loop keeps its adapters (each loop's model builds on the one before; an
        # SFT then a DPO adapter when dpo_sft_first), else the best and the last loop in full
        per_run = lora * 4 * p.outer_loops * (1 + p.dpo_sft_first) if p.lora \
            else full * min(2, p.outer_loops)
        return model, phases, per_run * len(p.runs) + lora * 16
    if experiment == "perplexity_grpo":
        tokens = prompt_lengths()["gsm8k"]["mean"] + p.max_completion_length
        scorer = architecture(p.scorer_model) if p.scorer_model else arch
        step = {"policy weights": weights, "scorer weights": scorer.params * b,
                "LoRA + AdamW": lora * 16 if p.lora else arch.params * 16,
                **gen("gsm8k", p.batch_size, p.max_completion_length),
                "activations": activations(arch, micro, tokens, ckpt, p.max_completion_length),
                "scorer logits": p.eval_batch_size * p.max_completion_length * scorer.vocab * 4}
        disk = len(p.reward_types) * (lora * 12 if p.lora else arch.params * 12)
        return model, {"GRPO step": step}, disk
    if experiment == "reinforce_rm":  # the method with the largest step (its own overrides)
        own = [method_values(p, m) for m in p.methods]
        new_tokens = max(int(v["max_new_tokens"]) for v in own)
        tokens = prompt_lengths()["hh"]["mean"] + new_tokens
        sampled = max(int(v["prompts_per_step"]) * int(v["k"]) for v in own)
        labels = 10 if p.level == 2 else 1
        step = {"policy and reference (SFT)": 2 * weights,
                "reward model (float32 where it trained)":
                    reward_model_bytes(arch, b, p.rm_trainable_layers, labels, training=False),
                "LoRA + AdamW": lora * 16 if p.lora else arch.params * 16,
                **gen("hh", sampled, new_tokens),
                "activations": activations(arch, micro, tokens, ckpt, new_tokens)}
        rm = {"SFT policy": weights,
              "reward model + AdamW (full-parameter)" if p.rm_trainable_layers < 0 else
              f"reward model + AdamW (top {p.rm_trainable_layers} blocks)":
                  reward_model_bytes(arch, b, p.rm_trainable_layers, labels, training=True),
              "activations (chosen + rejected)": activations(arch, 2 * micro, p.max_length, ckpt, 1)}
        disk = 2 * full + len(p.methods) * (lora * 12 if p.lora else arch.params * 12)
        return model, {"REINFORCE step": step, "reward-model training": rm}, disk
    raise ValueError(f"no estimate for experiment {experiment!r}")


# -- run time ------------------------------------------------------------------------------------
def host_step_s(layers: int, lora: bool = False) -> float:
    """Seconds the host takes to launch one eager decoding step of a `layers`-block model
    (`decode_host.json`); unmerged LoRA adds its own kernels to every linear layer."""
    fit = host_fit()
    return fit["step_s"] + layers * fit["layer_s"] + lora * (fit["lora_step_s"] + layers * fit["lora_layer_s"])


def decode_step_s(arch: Architecture, b: int, batch: int, context: float, engine: str = "eager",
                  lora: bool = False) -> float:
    """Seconds of one decoding step of `batch` sequences at `context` tokens each: the longest of
    reading the weights and KV cache, the step's FLOPs and (eager) the host's kernel launches."""
    e = ENGINES[engine]
    memory = (arch.params * b + kv_cache(arch, batch, context, b)) / (GPU["bandwidth"] * e["bandwidth_share"])
    compute = 2 * arch.params * batch / (GPU["flops"] * GPU["mfu"])
    return max(memory, compute, host_step_s(arch.layers, lora) if e["host"] else 0.0)


def generation_s(arch: Architecture, b: int, sequences: float, batch: int, new_tokens: int,
                 prompt_tokens: float, engine: str = "eager", lora: bool = False) -> float:
    """Seconds to prefill and decode `sequences` replies of `new_tokens`, `batch` at a time."""
    batch = max(1, min(batch, int(sequences) or 1))
    step = decode_step_s(arch, b, batch, prompt_tokens + new_tokens / 2, engine, lora)
    return math.ceil(sequences / batch) * new_tokens * step \
        + 2 * arch.params * sequences * prompt_tokens / (GPU["flops"] * GPU["mfu"])


def compute_s(arch: Architecture, tokens: float, trains: str = "", checkpointing: bool = False) -> float:
    """Seconds of forward (`trains` ""), LoRA ("lora") or full ("full") training over `tokens`."""
    passes = 1 + (trains != "") + (trains == "full") + (checkpointing and trains != "")
    return 2 * arch.params * passes * tokens / (GPU["flops"] * GPU["mfu"])


def _seconds(experiment: str, p) -> dict[str, float]:
    """{phase: seconds} of one experiment's params on one `GPU` (see the module docstring)."""
    arch, b = architecture(getattr(p, config.EXPERIMENTS[experiment].model_field)), BYTES[p.dtype]
    ckpt = getattr(p, "gradient_checkpointing", False)
    trains = "lora" if getattr(p, "lora", True) else "full"
    engine = "vllm" if getattr(p, "use_vllm", False) else "eager"
    # a model trained with LoRA generates with its adapters unmerged (STaR loops, GRPO, REINFORCE)
    unmerged = experiment != "base_model" and bool(getattr(p, "lora", False))
    prompts = {t: v["mean"] for t, v in prompt_lengths().items()}

    def gen(n, new=None, task="gsm8k", batch=None):
        return generation_s(arch, b, n, batch or p.eval_batch_size, new or p.max_new_tokens,
                            prompts[task], engine, unmerged)

    def train(sequences, length=None, how=None):
        return compute_s(arch, sequences * (length or p.max_length / 2), how or trains, ckpt)

    mc = prompts["mmlu"]
    if experiment == "base_model":
        t = {"training": train(p.n_gsm8k_train + p.n_mmlu_train, how="full") * p.epochs
             if p.train else 0.0,
             "evaluation": (gen(2 * p.n_eval) + gen(2 * p.n_eval_mc, task="mmlu") if p.offline_eval else 0)
             + (gen(p.n_real_gsm8k) if p.real_gsm8k_test else 0)}
        if p.real_mmlu:
            t["evaluation"] += compute_s(arch, p.n_real_mmlu * mc) \
                + gen(p.n_real_mmlu, p.mmlu_max_new_tokens, "mmlu")
        return t
    if experiment == "pause_warmup":
        return {"training": train(p.n_train * p.n_generated_samples_per_datapoint) * p.epochs,
                "evaluation": 2 * gen(p.n_test) + compute_s(arch, p.n_test * p.max_length / 2)}
    if experiment == "pause_star":
        settings = {parse_variant(v)["pauses"] for v in p.variants}
        loops = p.outer_loops
        per_variant = gen(p.n_validation) * (loops + 1) + 2 * gen(p.n_test) \
            + loops * (gen(p.n_train * p.samples_per_problem)
                       + train(p.n_train * p.samples_per_problem) * p.epochs)
        return {"warm-ups": len(settings) * (train(p.n_train) * p.warmup_epochs + 2 * gen(p.n_test)),
                "STaR loops": len(p.variants) * per_variant}
    if experiment == "star_mmlu":
        langs = 2 if p.mmlu_yoruba else 1
        k, loops = p.samples_per_question, p.outer_loops
        kept = p.n_train * (1 if p.one_per_question else k)
        batch = p.sample_batch_size or p.eval_batch_size * k
        per_run = gen(langs * p.n_validation, task="mmlu") * (loops + 1) \
            + gen(langs * p.n_test, task="mmlu") \
            + loops * (gen(p.n_train * k, task="mmlu", batch=batch) + train(kept) * p.epochs)
        return {"start evaluation": gen(langs * p.n_test, task="mmlu"),
                "STaR runs": len(p.runs) * per_run}
    if experiment == "perplexity_grpo":
        length = prompts["gsm8k"] + p.max_completion_length
        step = gen(p.batch_size, p.max_completion_length, batch=p.batch_size) \
            + train(p.batch_size, length) + compute_s(arch, p.batch_size * length)  # + the scorer
        evals = gen(p.n_test) * 2 + gen(p.n_curve) * (p.steps // p.eval_every + 1)
        return {"evaluation": gen(p.n_test) + len(p.reward_types) * evals,
                "GRPO steps": len(p.reward_types) * p.steps * step}
    if experiment == "reinforce_rm":
        hh = prompts["hh"]
        rm_trains = "full" if p.rm_trainable_layers < 0 else "lora"  # a few blocks: about LoRA's cost

        def method_s(v):  # one method's training and evaluations, at its own settings
            sampled, new = int(v["prompts_per_step"]) * int(v["k"]), int(v["max_new_tokens"])
            step = gen(sampled, task="hh", new=new, batch=sampled) \
                + train(sampled, hh + new) + 2 * compute_s(arch, sampled * (hh + new))
            return int(v["steps"]) * step \
                + gen(p.n_eval_prompts, task="hh") * (int(v["steps"]) // p.eval_every + 1)

        return {"SFT and reward model": train(p.n_train) * p.sft_epochs
                + train(2 * p.n_train, how=rm_trains) * p.rm_epochs
                + compute_s(arch, 2 * p.n_test * p.max_length / 2),
                "policies": sum(method_s(method_values(p, m)) for m in p.methods)}
    raise ValueError(f"no estimate for experiment {experiment!r}")


def hours(experiment: str, params) -> float:
    """Estimated hours of the whole run on one `GPU`."""
    return sum(_seconds(experiment, params).values()) / 3600


# The training experiments the estimator knows (evaluate and summary load what others trained).
ESTIMATED = ("base_model", "pause_warmup", "pause_star", "star_mmlu", "perplexity_grpo",
             "reinforce_rm")


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
