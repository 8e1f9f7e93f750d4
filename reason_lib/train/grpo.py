"""GRPO through TRL's GRPOTrainer, with reason_lib rewards and the run's metrics log."""

from __future__ import annotations

import torch

from reason_lib.train.sft import RunLogger


def grpo(model, tokenizer, rows: list[dict], reward_funcs: list, output_dir, run=None,
         reward_weights: list[float] | None = None, steps: int = 50, batch_size: int = 8,
         num_generations: int = 8, temperature: float = 1.0, beta: float = 0.0,
         learning_rate: float = 1e-5, max_completion_length: int = 128, seed: int = 0,
         peft_config=None, bf16: bool = False, save_steps: int = 50, resume: bool = False,
         **config_kwargs):
    """Train `model` with GRPO on `rows` (`prompt` messages plus reward columns such as `answer`);
    returns (trained model, log history). `batch_size` counts completions per step, so each step
    sees batch_size / num_generations prompts. Reward components are logged per function by TRL
    (`rewards/<name>/mean`) and copied into the run's metrics.jsonl."""
    from pathlib import Path

    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    settings = dict(
        output_dir=str(output_dir), max_steps=steps, per_device_train_batch_size=batch_size,
        num_generations=num_generations, temperature=temperature, beta=beta,
        learning_rate=learning_rate, max_completion_length=max_completion_length,
        reward_weights=reward_weights, logging_steps=1, save_strategy="steps",
        save_steps=save_steps, save_total_limit=1, report_to="none", seed=seed, bf16=bf16,
        use_cpu=not torch.cuda.is_available(), gradient_checkpointing=False,
        dataloader_num_workers=0, top_k=0)
    args = GRPOConfig(**{**settings, **config_kwargs})
    trainer = GRPOTrainer(model=model, reward_funcs=reward_funcs, args=args,
                          train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                          peft_config=peft_config, callbacks=[RunLogger(run)])
    has_checkpoint = resume and any(Path(output_dir).glob("checkpoint-*"))
    trainer.train(resume_from_checkpoint=True if has_checkpoint else None)
    return trainer.model, trainer.state.log_history
