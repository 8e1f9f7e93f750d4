import pytest
import torch

from reason_lib.data import gsm8k_splits
from reason_lib.data.world import base_mixture
from reason_lib.models import load_model, load_tokenizer
from reason_lib.train.sft import sft


def _rows():
    gsm = gsm8k_splits(32, 1, 1, max_steps=1, seed=0)
    return base_mixture(gsm["train"], {"en": [], "yo": []}, 0.0)


def test_sft_loss_falls_and_logs_to_the_run(tiny, tmp_path, outputs):
    from reason_lib import runs
    from reason_lib.config import load_params

    _, _, path = tiny
    run = runs.Run.create("base_model", load_params("base_model", "ci"), "ci")
    model, tok = load_model(path), load_tokenizer(path)
    _, history = sft(model, tok, _rows(), tmp_path / "ck", run=run, epochs=8, batch_size=8,
                     learning_rate=3e-3, scheduler="constant", max_length=256, save_steps=16, disable_tqdm=True,
                     logging_steps=4)
    losses = [h["loss"] for h in history if "loss" in h]
    assert losses[-1] < 0.7 * losses[0]
    assert [h["loss"] for h in run.history() if "loss" in h] == losses
    assert any((tmp_path / "ck").glob("checkpoint-*"))


def test_sft_resumes_from_its_last_checkpoint(tiny, tmp_path):
    _, _, path = tiny
    kwargs = dict(batch_size=8, learning_rate=1e-3, max_length=256, save_steps=4,
                  disable_tqdm=True, logging_steps=1)
    _, first = sft(load_model(path), load_tokenizer(path), _rows(), tmp_path / "ck", epochs=2,
                   **kwargs)
    assert (tmp_path / "ck" / "checkpoint-8").is_dir()  # checkpoints, without TRL's empty card
    assert not (tmp_path / "ck" / "README.md").exists()
    # A longer run in the same folder resumes after step 8: its first 8 logged steps are the first
    # run's (restored with the checkpoint; a fresh start would log other learning rates, since
    # its cosine schedule spans 12 steps), and it goes on to step 12.
    _, history = sft(load_model(path), load_tokenizer(path), _rows(), tmp_path / "ck", epochs=3,
                     resume=True, **kwargs)
    logged = [h for h in history if "loss" in h]
    assert [h["step"] for h in logged] == list(range(1, 13))
    assert logged[:8] == [h for h in first if "loss" in h]


def test_a_copy_of_the_trained_model_trains_itself(tiny, tmp_path):
    """TRL patches `forward` on the instance; a deepcopy must not run the original's forward."""
    import copy

    _, _, path = tiny
    model, _ = sft(load_model(path), load_tokenizer(path), _rows(), tmp_path / "ck", epochs=1,
                   batch_size=8, save_strategy="no", disable_tqdm=True)
    assert "forward" not in model.__dict__
    frozen = model.requires_grad_(False)
    clone = copy.deepcopy(frozen).requires_grad_(True)
    assert clone(torch.tensor([[1, 2, 3]])).logits.requires_grad


def test_a_batch_goes_through_in_micro_batches_with_accumulated_gradients(tmp_path):
    from reason_lib.config import ParamError, load_params
    from reason_lib.train.trainers import trainer_settings

    s = trainer_settings(tmp_path, batch_size=16, micro_batch_size=4, gradient_checkpointing=True)
    assert (s["per_device_train_batch_size"], s["gradient_accumulation_steps"]) == (4, 4)
    assert s["gradient_checkpointing"] and s["gradient_checkpointing_kwargs"] == {"use_reentrant": False}
    whole = trainer_settings(tmp_path, batch_size=16)
    assert (whole["per_device_train_batch_size"], whole["gradient_accumulation_steps"]) == (16, 1)
    assert not whole["gradient_checkpointing"]
    with pytest.raises(ValueError, match="micro_batch_size 5 must divide batch_size 16"):
        trainer_settings(tmp_path, batch_size=16, micro_batch_size=5)
    with pytest.raises(ParamError, match=r"'micro_batch_size' \(value 5\): must divide batch_size \(16\)"):
        load_params("base_model", "cpu", {"micro_batch_size": 5})


def test_resume_skips_a_half_written_checkpoint(tiny, tmp_path, capsys):
    """A save cut short (here: a checkpoint folder with weights but no trainer_state.json, the
    Trainer's last file) once made resume fail with FileNotFoundError; it is removed and the run
    resumes from the newest complete checkpoint, logging what an uninterrupted run logs."""
    import shutil

    _, _, path = tiny
    kwargs = dict(batch_size=8, learning_rate=1e-3, max_length=256, save_steps=4,
                  disable_tqdm=True, logging_steps=1)
    _, first = sft(load_model(path), load_tokenizer(path), _rows(), tmp_path / "ck", epochs=2,
                   **kwargs)
    assert (tmp_path / "ck" / "checkpoint-8").is_dir()  # checkpoints, without TRL's empty card
    assert not (tmp_path / "ck" / "README.md").exists()
    half = tmp_path / "ck" / "checkpoint-10"
    half.mkdir()
    shutil.copy(tmp_path / "ck" / "checkpoint-8" / "model.safetensors", half)
    _, history = sft(load_model(path), load_tokenizer(path), _rows(), tmp_path / "ck", epochs=3,
                     resume=True, **kwargs)
    logged = [h for h in history if "loss" in h]
    assert [h["step"] for h in logged] == list(range(1, 13))
    assert logged[:8] == [h for h in first if "loss" in h]
    assert "removing incomplete checkpoint" in capsys.readouterr().out and not half.exists()


def test_length_sorted_batches_are_random_batches_whose_micro_batches_pad_little():
    """Each epoch every row once, cut into batches as a random permutation cuts them (mixed
    lengths: no batch of one task, no long-to-short run), each batch shortest first, so its
    micro-batches of 4 pad far less than the batch as one; a short last batch last; the same
    epoch gives the same order (a resume skips into it), the next another."""
    from reason_lib.train.trainers import LengthSortedBatches

    g = torch.Generator().manual_seed(1)
    lengths = torch.cat([torch.randint(40, 80, (600,), generator=g),
                         torch.randint(150, 240, (403,), generator=g)]).tolist()
    sampler = LengthSortedBatches(lengths, 16, seed=3)
    order = list(sampler)
    assert sorted(order) == list(range(len(lengths)))
    batches = [order[i:i + 16] for i in range(0, len(order), 16)]
    assert [len(b) for b in batches] == [16] * 62 + [11]
    assert all([lengths[i] for i in b] == sorted(lengths[i] for i in b) for b in batches)
    assert sum(any(lengths[i] >= 150 for i in b) and any(lengths[i] < 80 for i in b)
               for b in batches) > 55  # nearly every batch mixes both kinds, as random ones do

    def padded(parts):
        return sum(max(lengths[i] for i in p) * len(p) for p in parts) / sum(lengths)

    micro = [b[j:j + 4] for b in batches for j in range(0, len(b), 4)]
    assert padded(batches) > 1.5 and padded(micro) < 0.65 * padded(batches)
    assert list(LengthSortedBatches(lengths, 16, seed=3)) == order
    sampler.set_epoch(1)
    assert list(sampler) != order


def test_a_batch_in_sorted_micro_batches_trains_as_the_whole_batch(tiny, tmp_path):
    """The sorted micro-batches only save padding: 4 passes of 4 give the weights one pass of 16
    gives (the Trainer normalises the accumulated loss by the batch's tokens)."""
    from reason_lib.data import mmlu_splits

    _, _, path = tiny
    gsm = gsm8k_splits(24, 1, 1, max_steps=3, seed=0)
    rows = base_mixture(gsm["train"], mmlu_splits(24, 1, 1, seed=0)["train"], 0.1)
    weights = {}
    for micro in (0, 4):
        model, _ = sft(load_model(path), load_tokenizer(path), rows, tmp_path / str(micro), epochs=1,
                       batch_size=16, learning_rate=1e-3, max_length=256, save_strategy="no",
                       disable_tqdm=True, micro_batch_size=micro)
        weights[micro] = [w.detach().clone() for w in model.parameters()]
    moved = max((a - b).abs().max().item() for a, b in zip(weights[0], weights[4]))
    assert moved < 1e-5
    start = load_model(path)
    assert max((a - b).abs().max().item() for a, b in zip(weights[0], start.parameters())) > 1e-3
