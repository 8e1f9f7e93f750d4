"""Direct preference optimisation through TRL's DPOTrainer, logged to a run."""

from __future__ import annotations

import copy
from pathlib import Path

from reason_lib.train.trainers import RunLogger, fit, trainer_settings

def dpo_rows(prompts: list[list[dict]], chosen: list[str], rejected: list[str]) -> list[dict]:
    """TRL's conversational preference rows."""
    return [{"prompt": p, "chosen": [{"role": "assistant", "content": c}],
             "rejected": [{"role": "assistant", "content": r}]}
            for p, c, r in zip(prompts, chosen, rejected)]


def dpo(model, tokenizer, rows: list[dict], output_dir: str | Path, run=None, beta: float = 0.1,
        epochs: float = 1.0, batch_size: int = 16, learning_rate: float = 1e-5,
        max_length: int = 512, seed: int = 0, ref_model=None, peft_config=None,
        bf16: bool = False, resume: bool = False, micro_batch_size: int = 0,
        gradient_checkpointing: bool = False, log_prefix: str = "", **config_kwargs):
    """DPO on conversational `rows` (prompt, chosen, rejected); returns (model, log history).

    The reference is `ref_model`, else a frozen copy of `model` as it is now (TRL would reload the
    model's original checkpoint, which is wrong after earlier fine-tuning in memory)."""
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer


    if ref_model is None and peft_config is None:
        ref_model = copy.deepcopy(model).eval().requires_grad_(False)
    settings = dict(trainer_settings(output_dir, seed, bf16, batch_size, micro_batch_size,
                                     gradient_checkpointing), num_train_epochs=epochs,
                    learning_rate=learning_rate,
                    beta=beta, max_length=max_length, logging_steps=5, save_strategy="no",
                    data_seed=seed, lr_scheduler_type="cosine", warmup_steps=0.05)
    args = DPOConfig(**{**settings, **config_kwargs})
    trainer = DPOTrainer(model=model, ref_model=ref_model, args=args,
                         train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                         peft_config=peft_config, callbacks=[RunLogger(run, log_prefix)])
    return fit(trainer, output_dir, resume)
