"""The arithmetic of the estimator (`reason_lib.estimate`, whose docstring states its rules of
thumb): model architectures and their parameter counts, the bytes of activations, KV caches and
reward models, and the seconds of decoding, prefill and training on one `GPU`; and `Costing`, one
run's parameters as each experiment's `cost` module reads them
(`reason_lib/experiments/<name>/cost.py`: its memory by phase, disk and time). Light: no torch,
transformers only to read an unknown model's config."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from reason_lib.config import resolve_source

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


class Costing:
    """One run's parameters as the experiments' `cost` modules read them: the model's
    architecture, the bytes of its dtype, the memory knobs, and the generation and training costs
    at the run's own settings (`eval_batch_size`, `max_new_tokens`, `max_length`, LoRA or not)."""

    def __init__(self, params, model: str):
        p = self.p = params
        self.model = model
        self.arch = architecture(model)
        self.b = BYTES[p.dtype]
        self.weights = self.arch.params * self.b  # one model, in its dtype (saved: the same)
        self.ckpt = getattr(p, "gradient_checkpointing", False)
        self.micro = getattr(p, "micro_batch_size", 0) or getattr(p, "batch_size", 1)
        with_lora = getattr(p, "lora", True)
        self.lora = self.arch.lora_params(p.lora_r) if with_lora and hasattr(p, "lora_r") else 0
        self.trains = "lora" if with_lora else "full"
        self.engine = "vllm" if getattr(p, "use_vllm", False) else "eager"
        # a model trained with LoRA generates with its adapters unmerged (STaR loops, GRPO, REINFORCE)
        self.unmerged = bool(getattr(p, "lora", False))
        self.prompts = {t: v["mean"] for t, v in prompt_lengths().items()}

    def longest(self, task: str) -> int:
        return prompt_lengths()[task]["max"]

    def activations(self, sequences: int, tokens: float, scored_tokens: int | None = None) -> float:
        return activations(self.arch, sequences, tokens, self.ckpt, scored_tokens)

    def generation_memory(self, task: str, batch: int | None = None, new: int | None = None) -> dict:
        return generation_memory(self.arch, self.b, batch or self.p.eval_batch_size, task,
                                 new or self.p.max_new_tokens)

    def generation_s(self, n: float, new: int | None = None, task: str = "gsm8k",
                     batch: int | None = None) -> float:
        return generation_s(self.arch, self.b, n, batch or self.p.eval_batch_size,
                            new or self.p.max_new_tokens, self.prompts[task], self.engine,
                            self.unmerged)

    def training_s(self, sequences: float, length: float | None = None, how: str | None = None) -> float:
        """Training over `sequences` of `length` tokens (default: half of max_length), LoRA or
        full as the run trains unless `how` says."""
        return compute_s(self.arch, sequences * (length or self.p.max_length / 2),
                         how or self.trains, self.ckpt)

    def forward_s(self, tokens: float) -> float:
        return compute_s(self.arch, tokens)
