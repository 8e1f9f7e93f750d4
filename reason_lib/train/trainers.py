"""What every stage run through a TRL trainer shares (SFT, DPO, GRPO, reward models): the
settings built from a run's parameters, logging into the run, plain-text progress when headless,
a fit that resumes from the last complete checkpoint, and one process's share of a batch."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import torch
from transformers import TrainerCallback
from transformers.trainer_callback import ProgressCallback

from reason_lib import distributed
from reason_lib.progress import HEADLESS


class RunLogger(TrainerCallback):
    """Copies the Trainer's logs (loss, learning rate, ...) into the run's metrics.jsonl."""

    def __init__(self, run, prefix: str = ""):
        self.run, self.prefix = run, prefix

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.run is not None and logs:
            self.run.log(state.global_step, **{f"{self.prefix}{k}": v for k, v in logs.items()})


def trained_model(trainer):
    """The trainer's model with TRL's patched forward removed.

    TRL's trainers replace `model.forward` on the instance by a closure over the original bound
    method (a fused LM head). Left in place, a `copy.deepcopy` of the model would still run the
    *original* object's forward — a copy whose gradients never flow — and every later trainer
    would stack another patch. Dropping the instance attribute restores the class's forward.
    """
    model = trainer.model
    for m in {id(x): x for x in (model, getattr(model, "get_base_model", lambda: model)())}.values():
        m.__dict__.pop("forward", None)
    return model


def rank_batch(batch_size: int, micro: int) -> tuple[int, int]:
    """(examples per optimiser step, examples per pass) of this rank when `batch_size` examples
    per step are split over the processes (`reason_lib.distributed`), taken `micro` at a time:
    the global batch stays `batch_size` whatever the number of processes."""
    n = distributed.world_size()
    if batch_size % n:
        raise ValueError(f"batch_size {batch_size} cannot be split over {n} processes: use a "
                         "multiple of the process count")
    per_rank = batch_size // n
    micro = min(micro, per_rank)
    if per_rank % micro:
        raise ValueError(f"micro_batch_size {micro} must divide the {per_rank} examples each of "
                         f"{n} processes takes per step")
    return per_rank, micro


def trainer_settings(output_dir, seed: int = 0, bf16: bool = False, batch_size: int = 8,
                     micro_batch_size: int = 0, gradient_checkpointing: bool = False) -> dict:
    """Trainer arguments every reason_lib trainer shares: the output folder and seed, logs kept
    local (the run's metrics.jsonl), the CPU when no GPU is present, no dataloader workers, and
    `batch_size` examples per optimiser step (over all processes: `rank_batch`) taken
    `micro_batch_size` at a time (0: all at once), the gradients accumulated. Activation
    checkpointing only when asked (TRL's default is on: slower for small models); non-reentrant,
    so frozen inputs and LoRA need no extra hook."""
    micro = micro_batch_size or batch_size
    if batch_size % micro:
        raise ValueError(f"micro_batch_size {micro} must divide batch_size {batch_size}")
    per_rank, micro = rank_batch(batch_size, micro)
    cpu = not torch.cuda.is_available()
    return dict(output_dir=str(output_dir), seed=seed, bf16=bf16, report_to="none",
                use_cpu=cpu, dataloader_num_workers=0,
                ddp_backend="gloo" if cpu and distributed.world_size() > 1 else None,
                per_device_train_batch_size=micro, gradient_accumulation_steps=per_rank // micro,
                gradient_checkpointing=gradient_checkpointing,
                gradient_checkpointing_kwargs={"use_reentrant": False} if gradient_checkpointing
                else None)


class LengthSortedBatches(torch.utils.data.Sampler):
    """Random batches, each in order of length, so that its micro-batches pad little.

    Each epoch the rows are shuffled and cut into batches of `batch_size` (an optimiser step's
    rows, over every micro-batch and process) exactly as a random sampler cuts them; within a
    batch the rows go shortest first. Its micro-batches then hold rows of similar length, and
    each is padded only to its own longest row: on the base model's mixture a random batch of 16
    carries 1.51 tokens per real token, as 4 micro-batches of 4 sorted 1.08. The step's gradient
    is the batch's, whatever the order inside it (the Trainer accumulates the micro-batches and
    normalises by the batch's token count). Batches grouped across the data instead (transformers'
    `LengthGroupedSampler`, or its groups shuffled) hold one task each, and the base model
    learned GSM8K-format problems far worse that way (0.05-0.10 against 0.31-0.49, measured).
    Epoch e draws from its own generator seeded `seed + e` (as accelerate's seedable random
    sampler): a resumed run skips into the very order it was cut off in."""

    def __init__(self, lengths: list[int], batch_size: int, seed: int = 0):
        self.lengths, self.batch_size = list(lengths), batch_size
        self.seed, self.epoch = seed, 0

    def __len__(self) -> int:
        return len(self.lengths)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.lengths), generator=g).tolist()
        return iter([i for s in range(0, len(order), self.batch_size)
                     for i in sorted(order[s:s + self.batch_size], key=self.lengths.__getitem__)])


class LengthSorted:
    """A TRL trainer whose batches are random and sorted by length inside (`LengthSortedBatches`),
    by the longest of a row's token columns: `input_ids`, or a preference pair's `chosen_ids` and
    `rejected_ids` (which pad together)."""

    def _get_train_sampler(self, train_dataset=None):
        data = self.train_dataset if train_dataset is None else train_dataset
        columns = [c for c in ("input_ids", "chosen_ids", "rejected_ids") if c in data.column_names]
        if not columns:
            raise ValueError(f"cannot sort by length: no token column in {data.column_names}")
        lengths = [max(len(ids) for ids in row) for row in zip(*(data[c] for c in columns))]
        per_step = self.args.train_batch_size * self.args.gradient_accumulation_steps
        seed = self.args.seed if self.args.data_seed is None else self.args.data_seed
        return LengthSortedBatches(lengths, per_step * self.args.world_size, seed)


def length_sorted(trainer_cls: type) -> type:
    """`trainer_cls` with its batches sorted by length inside (`LengthSorted`)."""
    return type(f"LengthSorted{trainer_cls.__name__}", (LengthSorted, trainer_cls), {})


class TextProgress(ProgressCallback):
    """transformers' text progress bar (steps, rate, ETA) with the latest loss on it, instead of
    its per-log prints: those go to the run's metrics.jsonl (`RunLogger`)."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        loss = (logs or {}).get("loss")
        if self.training_bar is not None and isinstance(loss, (int, float)):
            self.training_bar.set_postfix(loss=f"{loss:.4g}", refresh=True)


def text_progress(trainer) -> None:
    """Under `make` a trainer draws a text bar, which the terminal relay (reason_lib.progress)
    shows, not Jupyter's HTML one, which no terminal sees. In Jupyter nothing changes."""
    if os.environ.get(HEADLESS) and not trainer.args.disable_tqdm:
        from transformers.utils.notebook import NotebookProgressCallback

        trainer.remove_callback(NotebookProgressCallback)
        trainer.remove_callback(ProgressCallback)
        trainer.add_callback(TextProgress)


def complete_checkpoints(output_dir) -> list[Path]:
    """The Trainer checkpoints in `output_dir` that were saved whole, oldest first; a folder a
    save left half-written (killed, disk full: no `trainer_state.json`, the Trainer's last file)
    is removed, saying so, so that a resume takes the newest complete one instead of failing."""
    found = []
    for path in sorted(Path(output_dir).glob("checkpoint-*[0-9]"),
                       key=lambda p: int(p.name.rsplit("-", 1)[1])):
        if (path / "trainer_state.json").is_file():
            found.append(path)
        elif distributed.is_main():
            print(f"removing incomplete checkpoint {path} (no trainer_state.json)", flush=True)
            shutil.rmtree(path)
    distributed.barrier()
    return found


def fit(trainer, output_dir, resume: bool = False):
    """Train, continuing from the newest complete checkpoint in `output_dir` when `resume` and
    there is one (`complete_checkpoints`); (trained model, log history)."""
    text_progress(trainer)
    has_checkpoint = resume and bool(complete_checkpoints(output_dir))
    trainer.train(resume_from_checkpoint=True if has_checkpoint else None)
    # TRL writes its auto card ("a fine-tuned version of [None]") beside every checkpoint: it
    # names neither the model nor the data; the kept model's MODEL.md does (`models.keep`)
    card = Path(output_dir) / "README.md"
    if distributed.is_main() and card.is_file() and "generated_from_trainer" in card.read_text():
        card.unlink()
    return trained_model(trainer), trainer.state.log_history
