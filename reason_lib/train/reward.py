"""Training the reward models (`reason_lib.models.reward_model`): level 1 through TRL's
RewardTrainer as is; level 2 through the same trainer with the 10-class loss
`-log sum_i sum_j p_w[i] p_l[j] [i > j]` (`reason_lib.losses.class_preference_loss`).
"""

from __future__ import annotations

from pathlib import Path

import torch

from reason_lib.losses import class_preference_loss, expected_class
from reason_lib.train.trainers import RunLogger, fit, length_sorted, trainer_settings


def reward_rows(rows: list[dict]) -> list[dict]:
    """TRL's conversational preference rows (prompt, chosen, rejected as messages)."""
    return [{"prompt": r["prompt"], "chosen": [{"role": "assistant", "content": r["chosen"]}],
             "rejected": [{"role": "assistant", "content": r["rejected"]}]} for r in rows]


def _class_trainer():
    from trl import RewardTrainer

    class ClassRewardTrainer(RewardTrainer):
        """RewardTrainer with the level-2 loss; TRL's metrics read the expected class."""

        def __init__(self, model, **kwargs):
            # RewardTrainer insists on one output; only its loss reads the head, and that loss
            # is replaced below, so the check is passed with the count restored afterwards.
            n = model.config.num_labels
            model.config.num_labels = 1
            try:
                super().__init__(model=model, **kwargs)
            finally:
                model.config.num_labels = n

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            mode = "train" if self.model.training else "eval"
            inputs["use_cache"] = False
            outputs = model(**inputs)
            logits_w, logits_l = torch.chunk(outputs.logits, chunks=2)
            loss = class_preference_loss(logits_w, logits_l)
            with torch.no_grad():
                r_w, r_l = expected_class(logits_w), expected_class(logits_l)
                self._metrics[mode]["accuracy"].append((r_w > r_l).float().mean().item())
                self._metrics[mode]["margin"].append((r_w - r_l).mean().item())
                self._metrics[mode]["mean_reward"].append(torch.cat([r_w, r_l]).mean().item())
            return (loss, outputs) if return_outputs else loss

    return ClassRewardTrainer


def train_reward_model(model, tokenizer, rows: list[dict], output_dir: str | Path, level: int = 1,
                       run=None, epochs: float = 1.0, batch_size: int = 16,
                       learning_rate: float = 1e-4, max_length: int = 256, seed: int = 0,
                       bf16: bool = False, resume: bool = False, micro_batch_size: int = 0,
                       gradient_checkpointing: bool = False, log_prefix: str = "rm/",
                       sort_by_length: bool = True, **config_kwargs):
    """Train a reward model on preference `rows` (`prompt` messages, `chosen`/`rejected` text);
    returns (model, log history). Level 1: TRL's RewardTrainer as is; level 2: the class loss.
    `sort_by_length` orders each random batch by length (`trainers.LengthSorted`)."""
    from datasets import Dataset
    from trl import RewardConfig, RewardTrainer

    settings = dict(trainer_settings(output_dir, seed, bf16, batch_size, micro_batch_size,
                                     gradient_checkpointing), num_train_epochs=epochs,
                    learning_rate=learning_rate,
                    max_length=max_length, logging_steps=10, save_strategy="steps", save_steps=200,
                    save_total_limit=1, data_seed=seed, lr_scheduler_type="cosine",
                    warmup_steps=0.05)
    args = RewardConfig(**{**settings, **config_kwargs})
    trainer_cls = RewardTrainer if level == 1 else _class_trainer()
    if sort_by_length:
        trainer_cls = length_sorted(trainer_cls)
    trainer = trainer_cls(model=model, args=args, train_dataset=Dataset.from_list(reward_rows(rows)),
                          processing_class=tokenizer, callbacks=[RunLogger(run, log_prefix)])
    return fit(trainer, output_dir, resume)
