"""Notebook 05, REINFORCE with reward models ("Back to Basics"): its parameters and vocabulary. No
heavy imports: the command line reads them before anything runs."""

from __future__ import annotations

from dataclasses import dataclass

from reason_lib.fields import (Experiment, ParamError, check_batch_fits, check_field, data_seed,
                               device, dtype, eval_batch_size, gradient_checkpointing, lora_rank,
                               micro_batch_size, param, preference_subset, report_to,
                               training_seed)


METHOD_KEYS = ("steps", "prompts_per_step", "k", "pg_learning_rate", "temperature",
               "repetition_penalty", "kl_coef", "max_new_tokens")


def method_values(params, method: str) -> dict:
    """{METHOD_KEYS: value} of one policy-gradient method: the shared values of a ReinforceRMParams,
    `level_overrides[level]` over them, then `method_overrides[method]` over those."""
    return {**{k: getattr(params, k) for k in METHOD_KEYS},
            **params.level_overrides.get(params.level, {}), **params.method_overrides.get(method, {})}


def _check_overrides(key: str, values: dict, where: str) -> None:
    """One method's (or level's) overrides: keys of METHOD_KEYS, each value checked as the
    top-level parameter of that name is (type, minimum, choices): `steps: 2.7` or
    `temperature: 0` stop here, before any training."""
    if not isinstance(values, dict):
        raise ParamError(f"key {key!r} ({where}: {values!r}): expected a mapping")
    for name, value in values.items():
        if name not in METHOD_KEYS:
            raise ParamError(f"key {key!r} ({where}.{name}): unknown; known: " + ", ".join(METHOD_KEYS))
        check_field(ReinforceRMParams, name, value, f"key {key!r} ({where}.{name} = {value!r})")


@dataclass
class ReinforceRMParams:
    """Notebook 05: reward models (level 1 scalar, level 2 10-class), then REINFORCE, REINFORCE with
    a repetition penalty, and RLOO with a KL penalty against them ("Back to Basics")."""

    seed: int = training_seed("initialisation, data order, rollouts")
    data_seed: int = data_seed()
    level: int = param(1, "Reward model: 1 = scalar head (Bradley-Terry loss), 2 = 10-class head "
                       "(-log sum_i sum_j p_w[i] p_l[j] [i > j]; reward = expected class).",
                       choices=[1, 2])
    base_model: str = param("outputs/models/base-cpu-seed{seed}", "Model the SFT policy and the reward model "
                            "start from (path or Hub id).")
    preference_data: str = param("", "Preference jsonl (chosen/rejected, HH-RLHF format too) or "
                                 "Hub id; empty: the offline world with its known gold reward.",
                                 path=True)
    preference_subset: str = preference_subset()
    n_train: int = param(3000, "Preference pairs for SFT (chosen replies) and reward-model training.",
                         min=8)
    n_test: int = param(400, "Held-out pairs (reward-model accuracy) and evaluation prompts.", min=8)
    n_eval_prompts: int = param(128, "Prompts sampled at each policy evaluation.", min=4)
    label_noise: float = param(0.1, "Share of offline pairs whose label is flipped (rater noise).",
                               min=0.0, max=0.5)
    context_turns: int = param(0, "Keep only the last this many prompt messages of each dialogue "
                               "(1: the user turn the reply answers); 0 = the whole dialogue.",
                               min=0)
    skip_malformed: bool = param(False, "Skip preference rows that do not parse (HH-RLHF has a "
                                 "few whose chosen and rejected dialogues differ); counted in the "
                                 "report. Off: such a row is an error.")
    # SFT policy.
    sft_epochs: float = param(4.0, "SFT epochs on the chosen replies; 0 = no SFT, the base model "
                              "is the SFT policy (an instruct model already is one).", min=0.0)
    sft_learning_rate: float = param(2e-3, "SFT learning rate.", min=0.0)
    reward_model_path: str = param("", "A kept reward model to use instead of training one (a "
                                   "reinforce_rm run id, <run id>/reward_model or its folder; its "
                                   "level must equal `level`). Empty: train it here.")
    rm_init: str = param("sft", "What the reward model's backbone starts from: the SFT policy (as "
                         "in InstructGPT and the paper) or the base model.",
                         choices=["sft", "base"])
    # Reward model.
    rm_epochs: float = param(2.0, "Reward-model epochs.", min=0.0)
    rm_learning_rate: float = param(5e-4, "Reward-model learning rate.", min=0.0)
    rm_trainable_layers: int = param(-1, "Reward-model transformer blocks trained, counted from "
                                     "the top (with the final norm and the head); -1 = all, 0 = "
                                     "the head only. Frozen blocks cost no backward pass.", min=-1)
    batch_size: int = param(32, "SFT and reward-model batch size.", min=1)
    micro_batch_size: int = micro_batch_size()
    gradient_checkpointing: bool = gradient_checkpointing()
    max_length: int = param(256, "Longest training sequence (tokens).", min=16)
    # Policy gradient.
    methods: list[str] = param(["reinforce", "reinforce_rep_penalty", "rloo_kl"],
                               "Methods trained, each from the SFT policy; reinforce_kl is vanilla "
                               "REINFORCE with the KL penalty to the SFT policy (the study's proposed "
                               "fix for its repetition collapse).",
                               choices=["reinforce", "reinforce_rep_penalty", "rloo_kl", "reinforce_kl"])
    method_overrides: dict = param({}, "Per-method settings over the shared ones, as the study ran "
                                   "them, e.g. {reinforce_rep_penalty: {steps: 50, prompts_per_step: "
                                   "64, repetition_penalty: 1.2}}; keys: " + ", ".join(METHOD_KEYS) + ".")
    level_overrides: dict = param({}, "Settings by reward-model level over the shared ones "
                                  "(method_overrides apply on top), as the study ran its levels, "
                                  "e.g. {2: {steps: 150, prompts_per_step: 16}}; keys as for "
                                  "method_overrides.")
    steps: int = param(60, "Policy-gradient steps per method.", min=1)
    prompts_per_step: int = param(16, "Prompts per step.", min=1)
    k: int = param(4, "Samples per prompt (RLOO's leave-one-out group; the other methods draw as "
                   "many, so every method sees the same number of samples).", min=2)
    pg_learning_rate: float = param(3e-5, "Policy-gradient learning rate.", min=0.0)
    baseline: str = param("moving_average", "Vanilla REINFORCE's baseline.",
                          choices=["none", "moving_average"])
    repetition_penalty: float = param(1.3, "Generation repetition penalty of "
                                      "reinforce_rep_penalty (1.0 = none).", min=1.0)
    kl_coef: float = param(0.1, "KL coefficient of rloo_kl (per sequence, nats).", min=0.0)
    temperature: float = param(1.0, "Sampling temperature in training and evaluation.", min=0.01)
    seeded_samples: bool = param(False, "Draw each training sample from its own seed (Gumbel-max, "
                                 "generate.SeededSampling): the same samples whatever the batch, "
                                 "micro-batch or process count (NPROC), so a run on N processes "
                                 "repeats the one-process run. Off: torch's generator, one seed "
                                 "per step (how the committed results were made).")
    max_new_tokens: int = param(64, "Longest reply (tokens).", min=4)
    eval_every: int = param(10, "Steps between evaluations (the over-optimisation curves).", min=1)
    eval_batch_size: int = eval_batch_size(" at evaluation")
    lora: bool = param(False, "Train LoRA adapters (SFT, reward model and policy).")
    lora_r: int = lora_rank()
    device: str = device()
    dtype: str = dtype()
    report_to: list[str] = report_to()

    def check(self) -> None:
        """`method_overrides` names methods of `methods`, `level_overrides` levels 1 and 2; both
        set keys of METHOD_KEYS, with numbers."""
        for method, values in self.method_overrides.items():
            if method not in self.methods:
                raise ParamError(f"key 'method_overrides' (value {method!r}): not one of the "
                                 f"methods run ({', '.join(self.methods)})")
            _check_overrides("method_overrides", values, method)
        for level, values in self.level_overrides.items():
            if level not in (1, 2):
                raise ParamError(f"key 'level_overrides' (value {level!r}): levels are 1 and 2")
            _check_overrides("level_overrides", values, str(level))
        check_batch_fits(self.batch_size, self.n_train, "n_train preference pairs")
        for method in self.methods:  # what each method will run with, overrides applied
            own = method_values(self, method)
            if own["prompts_per_step"] > self.n_train:
                raise ParamError(f"method {method!r}: prompts_per_step {own['prompts_per_step']} "
                                 f"is more than the n_train {self.n_train} training prompts")


EXPERIMENT = Experiment("05_reinforce_rm.ipynb", ReinforceRMParams, model_field="base_model")
