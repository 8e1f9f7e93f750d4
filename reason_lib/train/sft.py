"""Supervised fine-tuning through TRL's SFTTrainer, loss on the completion only, logged to a run."""

from __future__ import annotations

from pathlib import Path

from reason_lib.train.trainers import RunLogger, fit, length_sorted, trainer_settings


def conversation_rows(prompts: list[list[dict]], completions: list[str]) -> list[dict]:
    """TRL's conversational prompt-completion rows."""
    return [{"prompt": p, "completion": [{"role": "assistant", "content": c}]}
            for p, c in zip(prompts, completions)]


def sft(model, tokenizer, rows: list[dict], output_dir: str | Path, run=None, epochs: float = 1.0,
        batch_size: int = 16, learning_rate: float = 1e-4, max_length: int = 512,
        warmup_ratio: float = 0.05, scheduler: str = "cosine", seed: int = 0,
        eval_rows: list[dict] | None = None, resume: bool = False, peft_config=None,
        bf16: bool = False, save_steps: int = 200, micro_batch_size: int = 0,
        gradient_checkpointing: bool = False, log_prefix: str = "", sort_by_length: bool = True,
        **config_kwargs):
    """Fine-tune `model` on conversational prompt-completion `rows`; returns the trained model
    (the peft model when `peft_config` is given) and the Trainer's log history.

    Checkpoints go to `output_dir` every `save_steps`; `resume=True` continues from the last one.
    `micro_batch_size` and `gradient_checkpointing`: see `trainer_settings`; `sort_by_length`
    orders each random batch by length, so its micro-batches pad little (`trainers.LengthSorted`).
    """
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    settings = dict(
        trainer_settings(output_dir, seed, bf16, batch_size, micro_batch_size,
                         gradient_checkpointing), num_train_epochs=epochs,
        per_device_eval_batch_size=micro_batch_size or batch_size,
        learning_rate=learning_rate, lr_scheduler_type=scheduler, warmup_steps=warmup_ratio,
        max_length=max_length, completion_only_loss=True, logging_steps=10,
        save_strategy="steps", save_steps=save_steps, save_total_limit=1, data_seed=seed,
        eval_strategy="epoch" if eval_rows else "no")
    args = SFTConfig(**{**settings, **config_kwargs})
    trainer_cls = length_sorted(SFTTrainer) if sort_by_length else SFTTrainer
    trainer = trainer_cls(model=model, args=args, train_dataset=Dataset.from_list(rows),
                         eval_dataset=Dataset.from_list(eval_rows) if eval_rows else None,
                         processing_class=tokenizer, peft_config=peft_config,
                         callbacks=[RunLogger(run, log_prefix)])
    return fit(trainer, output_dir, resume)
