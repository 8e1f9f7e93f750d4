"""Policy-gradient training against a sequence-level reward (Ahmadian et al., 2024, "Back to
Basics"): vanilla REINFORCE with an optional moving-average baseline, and RLOO — k samples per
prompt, each baselined by the mean reward of the other k - 1 — with a KL penalty to the SFT policy.

Hand-written rather than TRL's RLOOTrainer: the paper's estimator treats the whole completion as
one action and folds the KL penalty into that one sequence reward,
    R(x, y) = r(x, y) - kl_coef * sum_t [log pi(y_t | ...) - log pi_ref(y_t | ...)],
which is exactly what this loop computes, for every method alike (vanilla REINFORCE uses
kl_coef = 0: no tie back to the SFT policy).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from reason_lib import distributed
from reason_lib.disk import atomic_write, last_checkpoint
from reason_lib.experiments.reinforce_rm.params import method_values
from reason_lib.fields import memory
from reason_lib.generate import Rollout, rollout, sample_seed, sequence_logprobs
from reason_lib.losses import reinforce_loss, rloo_baseline

METHODS = ("reinforce", "rloo")
BASELINES = ("none", "moving_average")


def _columns(rows: list[dict]) -> dict[str, list]:
    """Row fields (other than the prompt) as TRL passes them to reward functions: one list each."""
    keys = [k for k in rows[0] if k != "prompt"]
    return {k: [r[k] for r in rows] for k in keys}


@torch.no_grad()
def reference_logprobs(policy, ref_model, r, micro_batch_size: int = 0) -> torch.Tensor:
    """Sequence log-probabilities under the reference: `ref_model`, or, for a peft policy with no
    separate reference, the policy with its adapters disabled; `micro_batch_size` samples at a
    time (0: all)."""
    if ref_model is not None:
        return _chunked_logprobs(ref_model, r, micro_batch_size)
    with policy.disable_adapter():
        return _chunked_logprobs(policy, r, micro_batch_size)


@torch.no_grad()
def _chunked_logprobs(model, r, micro_batch_size: int) -> torch.Tensor:
    return torch.cat([sequence_logprobs(model, r.rows(p)) for p in r.parts(micro_batch_size)])


def policy_loss_backward(policy, r, advantages: torch.Tensor, logp=None,
                         micro_batch_size: int = 0, accelerator=None) -> float:
    """Backpropagate the REINFORCE surrogate of rollout `r`, `micro_batch_size` samples at a time
    (0: all at once, reusing `logp` when given), each part weighted by its share of the samples,
    so that only one part's activations are alive at a time; returns the loss. With an
    `accelerator` (a DDP-wrapped `policy`) the gradients are averaged over the processes once,
    after the last part."""
    backward = accelerator.backward if accelerator is not None else torch.Tensor.backward
    parts = r.parts(micro_batch_size)
    if len(parts) == 1:
        loss = reinforce_loss(sequence_logprobs(policy, r) if logp is None else logp, advantages)
        backward(loss)
        return loss.item()
    total = 0.0
    for part in distributed.micro_steps(parts, policy, accelerator):
        loss = reinforce_loss(sequence_logprobs(policy, r.rows(part)), advantages[part]) \
            * (len(r.texts[part]) / len(r))
        backward(loss)
        total += loss.item()
    return total


def _trainable(policy) -> dict[str, torch.nn.Parameter]:
    return {n: p for n, p in policy.named_parameters() if p.requires_grad}


def save_checkpoint(path: Path, policy, optimizer, step: int, baseline: float | None) -> None:
    """The trainable weights (safetensors) and the optimiser state at `step`, in `path`."""
    from safetensors.torch import save_file


    tmp = path.with_name(path.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    save_file({n: p.detach().contiguous() for n, p in _trainable(policy).items()},
              tmp / "trainable.safetensors")
    torch.save({"optimizer": optimizer.state_dict(), "step": step,
                "baseline": torch.tensor(float("nan") if baseline is None else baseline,
                                         dtype=torch.float64)},  # the running float, exactly
               tmp / "state.pt")
    atomic_write(tmp / "done", str(step))
    tmp.rename(path)  # a checkpoint folder exists only once complete


def load_checkpoint(path: Path, policy, optimizer) -> tuple[int, float | None]:
    """Restore weights and optimiser state saved by `save_checkpoint`; (step, baseline)."""
    from safetensors.torch import load_file

    params = _trainable(policy)
    with torch.no_grad():
        for name, value in load_file(path / "trainable.safetensors").items():
            params[name].copy_(value)
    state = torch.load(path / "state.pt", weights_only=True)
    optimizer.load_state_dict(state["optimizer"])
    b = state["baseline"].item()
    return int(state["step"]), None if b != b else b


@dataclass(frozen=True)
class PolicyGradientConfig:
    """What a policy-gradient run does (`policy_gradient`), checked when made.

    Each step samples `k` completions for each of `prompts_per_step` prompts (`repetition_penalty`
    applies in generation), scores them, and takes one gradient step on the REINFORCE surrogate.
    `method="reinforce"`: advantage = R - b, b a moving average of past mean rewards
    (`baseline="moving_average"`, decay `baseline_decay`) or 0 (`"none"`); `method="rloo"`:
    advantage = R - (mean R of the prompt's other samples). R is the reward less `kl_coef` times
    the sequence KL to the reference. Log-probabilities and the backward pass take
    `micro_batch_size` samples at a time (0: all at once); `gradient_checkpointing` recomputes
    activations in backward. `seeded`: each sample drawn from its own seed
    (`generate.SeededSampling`), so the samples of a step do not depend on batching or processes;
    else from torch's generator, seeded per step. `on_step` runs every `every` steps, a checkpoint
    every `save_every` (0: none)."""

    method: str = "reinforce"
    steps: int = 60
    prompts_per_step: int = 8
    k: int = 4
    learning_rate: float = 1e-5
    kl_coef: float = 0.0
    baseline: str = "moving_average"
    baseline_decay: float = 0.9
    temperature: float = 1.0
    repetition_penalty: float = 1.0
    max_new_tokens: int = 64
    max_grad_norm: float = 1.0
    seed: int = 0
    micro_batch_size: int = 0
    gradient_checkpointing: bool = False
    seeded: bool = False
    every: int = 10
    save_every: int = 20

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"policy-gradient method {self.method!r}: expected one of {METHODS}")
        if self.baseline not in BASELINES:
            raise ValueError(f"baseline {self.baseline!r}: expected one of {BASELINES}")
        if self.method == "rloo" and self.k < 2:
            raise ValueError(f"RLOO needs k >= 2 samples per prompt, got k={self.k}")


def step_prompts(rows: list[dict], config: PolicyGradientConfig, step: int) -> list[dict]:
    """The prompts of `step` (every rank's): they depend only on (seed, step), so a resumed run
    draws what the uninterrupted one would have."""
    epoch, offset = divmod(step * config.prompts_per_step, len(rows))
    order = list(range(len(rows)))
    random.Random(config.seed * 100_003 + epoch).shuffle(order)
    return [rows[order[(offset + i) % len(rows)]] for i in range(config.prompts_per_step)]


def sample(policy, tokenizer, batch: list[dict], config: PolicyGradientConfig, step: int,
           mine: slice) -> Rollout:
    """`k` completions of each of this rank's prompts, the sampling noise seeded by (seed, step)."""
    torch.manual_seed(config.seed * 100_003 + step)
    seeds = [sample_seed(config.seed, step, i) for i in range(mine.start * config.k,
                                                              mine.stop * config.k)] \
        if config.seeded else None
    return rollout(policy, tokenizer, [b["prompt"] for b in batch], config.k,
                   config.max_new_tokens, temperature=config.temperature,
                   repetition_penalty=config.repetition_penalty, seeds=seeds)


def kl_to_reference(policy, ref_model, r: Rollout, logp, micro_batch_size: int) -> torch.Tensor:
    """Each sample's sequence KL estimate to the reference, log pi - log pi_ref (`logp`: the
    policy's log-probabilities when already computed)."""
    current = logp.detach() if logp is not None else _chunked_logprobs(policy, r, micro_batch_size)
    return (current - reference_logprobs(policy, ref_model, r, micro_batch_size)).float().cpu()


def advantages(total: torch.Tensor, everyone: torch.Tensor, config: PolicyGradientConfig,
               moving: float | None) -> tuple[torch.Tensor, float | None]:
    """(advantages of this rank's samples, the moving baseline after this step). `total`: their
    rewards less the KL penalty; `everyone`: the step's totals over every rank."""
    if config.method == "rloo":
        grouped = total.view(-1, config.k)
        return (grouped - rloo_baseline(grouped)).flatten(), moving
    b = moving if (config.baseline == "moving_average" and moving is not None) else 0.0
    if config.baseline == "moving_average":
        mean = everyone.mean().item()
        moving = mean if moving is None else \
            config.baseline_decay * moving + (1 - config.baseline_decay) * mean
    return total - b, moving


def update(trained, optimizer, accelerator, params: list, r: Rollout, adv: torch.Tensor, logp,
           config: PolicyGradientConfig) -> tuple[float, torch.Tensor]:
    """One optimiser step on the surrogate of rollout `r`; (loss, gradient norm before clipping)."""
    optimizer.zero_grad(set_to_none=True)
    loss = policy_loss_backward(trained, r, adv.to(r.ids.device), logp, config.micro_batch_size,
                                accelerator)
    grad_norm = accelerator.clip_grad_norm_(params, config.max_grad_norm)
    optimizer.step()
    return loss, grad_norm


def step_metrics(r: Rollout, batch: list[dict], k: int, rewards, kl, everyone, loss: float,
                 grad_norm, diagnostics=None) -> dict:
    """The step's logged means, over every rank's samples (equal slices), and `diagnostics`'s."""
    lengths = r.completion_mask.sum(-1).float().tolist()
    texts = r.texts
    rows_k = [b for b in batch for _ in range(k)]
    n_proc = distributed.world_size()
    if n_proc > 1:
        rewards, kl = (torch.tensor(distributed.gather(x.tolist())) for x in (rewards, kl))
        lengths = distributed.gather(lengths)
        loss = sum(distributed.gather([loss])) / n_proc
        rows_k = [b for b in distributed.gather(batch) for _ in range(k)]
        texts = distributed.gather(r.texts)
    entry = {"reward": rewards.mean().item(), "kl": kl.mean().item(),
             "total_reward": everyone.mean().item(), "loss": loss,
             "grad_norm": grad_norm.item(), "length": sum(lengths) / len(lengths)}
    if diagnostics is not None:
        entry.update(diagnostics(rows_k, texts))
    return entry


def score(trained, policy, ref_model, r, batch: list[dict], reward_fn, config) -> tuple:
    """(rewards, KL to the reference, sequence log-probs or None) of one step's rollouts `r`:
    each of the k replies per prompt scored by `reward_fn` with its prompt's reward columns; the
    log-probs computed here when the step is one micro-batch (else part by part in `update`);
    the KL zero when there is no reference and no KL coefficient."""
    rows_k = [b for b in batch for _ in range(config.k)]
    rewards = torch.tensor(reward_fn([b["prompt"] for b in rows_k], r.texts, **_columns(rows_k)),
                           dtype=torch.float32)
    whole = len(r.parts(config.micro_batch_size)) == 1  # else the graph is built part by part
    logp = sequence_logprobs(trained, r) if whole else None
    kl = kl_to_reference(policy, ref_model, r, logp, config.micro_batch_size) \
        if config.kl_coef > 0 or ref_model is not None else torch.zeros_like(rewards)
    return rewards, kl, logp


def _logged_before(run, log_prefix: str, start: int, resume: bool) -> list[dict]:
    """The history of the steps before `start` from the run's metrics log. A resumed run's
    earlier steps are already in that log; what it logged past its checkpoint (before it was
    stopped; all of it when it stopped before the first one, or after its last step, which keeps
    no checkpoint) is dropped: those steps are taken, and logged, again."""
    if run is not None and resume:
        run.drop_logged(log_prefix, start)
    return [h for h in (run.history() if run is not None and start else [])
            if h["step"] <= start and f"{log_prefix}reward" in h]


def policy_gradient(policy, tokenizer, rows: list[dict], reward_fn, output_dir,
                    config: PolicyGradientConfig, *, ref_model=None, run=None,
                    log_prefix: str = "", diagnostics=None, on_step=None, resume: bool = False,
                    progress: bool = True, keep=None):
    """Optimise `policy` on `rows` (`prompt` messages plus reward columns) against
    `reward_fn(prompts, completions, **columns) -> list[float]` as `config` says; returns
    (policy, history).

    `diagnostics(rows, texts) -> dict` adds per-step metrics (e.g. the gold score);
    `on_step(policy, step)` runs every `config.every` steps; `resume=True` continues from the
    last checkpoint. `keep(policy)` runs once, right after the last update and before that step's
    `on_step`: the final policy is on disk before anything evaluates it
    (`reason_lib.models.keep.keep_model`). The KL to `ref_model` (the policy with its adapters
    disabled for a peft policy without one) is logged whenever there is a reference.

    Through accelerate's `Accelerator`: with several processes (`reason_lib.distributed`) each
    rank samples, scores and backpropagates its slice of the step's prompts, DDP averages the
    gradients (equal slices: the one-process gradient), and the logged means are gathered.
    """
    n_proc = distributed.world_size()
    if config.prompts_per_step % n_proc:
        raise ValueError(f"prompts_per_step {config.prompts_per_step} cannot be split over "
                         f"{n_proc} processes: use a multiple of the process count")
    params = list(_trainable(policy).values())
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.0)
    if config.gradient_checkpointing:
        policy.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    start, moving = 0, None
    output_dir = Path(output_dir)
    if resume and (ckpt := last_checkpoint(output_dir)) is not None:
        start, moving = load_checkpoint(ckpt, policy, optimizer)
    accelerator = distributed.accelerator()
    trained, optimizer = accelerator.prepare(policy, optimizer)  # DDP-wrapped with several
    share = config.prompts_per_step // n_proc
    mine = slice(distributed.rank() * share, (distributed.rank() + 1) * share)
    history = _logged_before(run, log_prefix, start, resume)
    policy.train()
    for step in tqdm(range(start, config.steps), desc=f"{log_prefix or config.method} steps",
                     initial=start, total=config.steps,
                     disable=not progress or not distributed.is_main()):
        batch = step_prompts(rows, config, step)[mine]
        r = sample(policy, tokenizer, batch, config, step, mine)
        rewards, kl, logp = score(trained, policy, ref_model, r, batch, reward_fn, config)
        total = rewards - config.kl_coef * kl
        everyone = torch.tensor(distributed.gather(total.tolist()))  # the step's, in prompt order
        adv, moving = advantages(total, everyone, config, moving)
        loss, grad_norm = update(trained, optimizer, accelerator, params, r, adv, logp, config)
        entry = step_metrics(r, batch, config.k, rewards, kl, everyone, loss, grad_norm,
                             diagnostics)
        entry = {f"{log_prefix}{key}": v for key, v in entry.items()}
        history.append({"step": step + 1, **entry})
        if run is not None:
            run.log(step + 1, **entry)
        if keep is not None and step + 1 == config.steps:
            policy.eval()
            keep(policy)
        if on_step is not None and (step + 1) % config.every == 0:
            on_step(policy, step + 1)
            policy.train()
        if config.save_every and (step + 1) % config.save_every == 0 and step + 1 < config.steps:
            distributed.main_writes(save_checkpoint, output_dir / f"checkpoint-{step + 1}",
                                    policy, optimizer, step + 1, moving)
    policy.eval()
    return policy, history


def method_settings(name: str, params) -> PolicyGradientConfig:
    """The `policy_gradient` configuration of the study's methods, from the experiment's params:
    vanilla REINFORCE (no tie to the SFT policy), the same with a repetition penalty in
    generation, RLOO with a KL penalty to the SFT policy, and REINFORCE with that KL penalty;
    `params.method_overrides[name]` replaces shared values for one method (the study ran its
    methods at different steps, batches and penalties)."""
    own = method_values(params, name)
    common = dict(steps=int(own["steps"]), prompts_per_step=int(own["prompts_per_step"]),
                  k=int(own["k"]), learning_rate=own["pg_learning_rate"],
                  temperature=own["temperature"], max_new_tokens=int(own["max_new_tokens"]),
                  seed=params.seed, baseline=params.baseline, seeded=params.seeded_samples,
                  every=params.eval_every, **memory(params))
    methods = {"reinforce": dict(method="reinforce", kl_coef=0.0),
               "reinforce_rep_penalty": dict(method="reinforce", kl_coef=0.0,
                                             repetition_penalty=own["repetition_penalty"]),
               "rloo_kl": dict(method="rloo", kl_coef=own["kl_coef"]),
               "reinforce_kl": dict(method="reinforce", kl_coef=own["kl_coef"])}
    if name not in methods:
        raise ValueError(f"method {name!r}: expected one of {sorted(methods)}")
    return PolicyGradientConfig(**common, **methods[name])
