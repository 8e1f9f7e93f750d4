"""reason_lib.models.pause_lm and train.pause: flags, loss targets, decoding, save/load, training."""

import copy

import pytest
import torch

from reason_lib.data import gsm8k_prompt, gsm8k_splits
from reason_lib.data.pauses import PAUSE, pause_augment
from reason_lib.evaluate import evaluate_pause_gsm8k
from reason_lib.generate import pause_generate
from reason_lib.models import load_model, load_tokenizer
from reason_lib.models.pause_lm import PauseLM, add_pause_token, next_non_pause
from reason_lib.train.pause import _batch, encode, eval_loss, train_pause_lm


@pytest.fixture
def pause_lm(tiny):
    _, _, path = tiny
    tok = load_tokenizer(path)
    pid = add_pause_token(tok)
    return PauseLM(load_model(path), pid), tok


def _rows(n=16, pauses=3):
    rows = pause_augment(gsm8k_splits(n, 1, 1, max_steps=1, seed=0)["train"], pauses, seed=0)
    return [{"prompt": gsm8k_prompt(r), "completion": r["answer"]} for r in rows]


def test_pause_token_is_new_and_special(pause_lm, tiny):
    model, tok = pause_lm
    assert model.pause_token_id >= tiny[0].config.vocab_size  # outside the LM head's vocabulary
    assert tok.tokenize(f"a{PAUSE}b").count(PAUSE) == 1


def test_next_non_pause_targets():
    P = 9
    ids = torch.tensor([[1, P, P, 2, 3, P]])
    assert next_non_pause(ids, P).tolist() == [[1, 2, 2, 2, 3, -1]]


@pytest.mark.parametrize("flags", [
    dict(pause_embedding=True, pause_head=False, lm_head=False, lm_embeddings=False),
    dict(pause_embedding=False, pause_head=True, lm_head=True, lm_embeddings=False),
    dict(pause_embedding=True, pause_head=True, lm_head=False, lm_embeddings=True),
])
def test_flags_decide_what_an_optimiser_step_changes(pause_lm, flags):
    model, tok = pause_lm
    model.set_trainable(**flags)
    parts = {"pause_embedding": lambda: model.pause_embedding,
             "pause_head": lambda: model.pause_head.weight,
             "lm_head": lambda: model.causal.get_output_embeddings().weight,
             "lm_embeddings": lambda: model.causal.get_input_embeddings().weight}
    before = {k: f().detach().clone() for k, f in parts.items()}
    block = next(p for n, p in model.causal.named_parameters() if "layers.0" in n)
    block_before = block.detach().clone()
    train_pause_lm(model, tok, _rows(), epochs=1, batch_size=8, learning_rate=1e-2, progress=False)
    for name, f in parts.items():
        assert (not torch.equal(before[name], f())) == flags[name], name
    assert torch.equal(block_before, block)  # no LoRA: the transformer blocks stay frozen


def test_lora_trains_adapters_only_in_the_blocks(pause_lm):
    model, tok = pause_lm
    counts = model.set_trainable(pause_embedding=True, pause_head=True,
                                 lora={"r": 4, "alpha": 8})
    assert counts["lora"] > 0 and counts["lm_head"] == 0 and counts["lm_embeddings"] == 0
    history = train_pause_lm(model, tok, _rows(32), epochs=3, batch_size=8, learning_rate=1e-2,
                             logging_steps=2, progress=False)
    assert history[-1]["loss"] < history[0]["loss"]


def test_a_head_forced_to_pause_yields_only_pauses_up_to_the_bound(pause_lm):
    model, tok = pause_lm
    prompts = [gsm8k_prompt(r) for r in gsm8k_splits(1, 1, 3, seed=0)["test"]]
    replies = pause_generate(model, tok, prompts, max_new_tokens=5, max_consecutive_pauses=100,
                             force_pause=True, progress=False)
    assert replies == [PAUSE * 5] * 3
    bounded = pause_generate(model, tok, prompts, max_new_tokens=7, max_consecutive_pauses=3,
                             force_pause=True, progress=False)
    for reply in bounded:  # three pauses, then one LM token, then pauses again
        assert reply.startswith(PAUSE * 3) and not reply.startswith(PAUSE * 4)
    never = pause_generate(model, tok, prompts, max_new_tokens=5, force_pause=True,
                           allow_pauses=False, progress=False)
    assert all(PAUSE not in r for r in never)


@pytest.mark.parametrize("lora", [None, {"r": 4, "alpha": 8}])
def test_save_and_load_give_identical_logits(pause_lm, tmp_path, lora):
    model, tok = pause_lm
    model.set_trainable(pause_embedding=True, pause_head=True, lm_head=True, lora=lora)
    train_pause_lm(model, tok, _rows(), epochs=1, batch_size=8, learning_rate=1e-2, progress=False)
    model.save_pretrained(tmp_path, tok)
    loaded = PauseLM.from_pretrained(tmp_path)
    tok2 = load_tokenizer(tmp_path)
    ids, attn, _ = _batch(encode(tok2, _rows(4)), tok2.pad_token_id, "cpu")
    assert (ids == model.pause_token_id).any()
    with torch.no_grad():
        for a, b in zip(model(ids, attn), loaded(ids, attn)):
            # LoRA in use computes x A B apart from x W: equal to rounding once merged
            assert torch.equal(a, b) if lora is None else torch.allclose(a, b, atol=1e-5)
    if lora:  # the loaded weights are exactly the merged ones
        merged = copy.deepcopy(model.base).merge_and_unload().state_dict()
        assert all(torch.equal(merged[k], v) for k, v in loaded.causal.state_dict().items())
    # what trained, not a merged model: the pause parts, the LM head, the adapters when LoRA
    assert not (tmp_path / "model.safetensors").exists()
    assert (tmp_path / "pause.safetensors").exists()
    assert {p.name for p in tmp_path.glob("adapter-*")} == ({"adapter-0"} if lora else set())
    assert not list(tmp_path.glob("adapter-*/README.md"))  # no placeholder card from peft
    assert loaded.source == str(tmp_path)


def test_a_lora_pause_lm_saves_a_fraction_of_the_model(tiny, tmp_path):
    """Disk: a LoRA pause LM with the LM frozen saves its adapters and pause parts, well under a
    tenth of the model it sits on, and keeps loading when the run folder moves."""
    import shutil

    _, _, tiny_path = tiny
    path = shutil.copytree(tiny_path, tmp_path / "a" / "models" / "base")  # an outputs tree
    tok = load_tokenizer(path)
    model = PauseLM(load_model(path), add_pause_token(tok))
    model.set_trainable(pause_embedding=True, pause_head=True, lora={"r": 2, "alpha": 4})
    train_pause_lm(model, tok, _rows(8), epochs=1, batch_size=8, learning_rate=1e-2, progress=False)
    run = tmp_path / "a" / "run"
    model.save_pretrained(run / "warm", tok)
    loop = PauseLM.from_pretrained(run / "warm")
    loop.set_trainable(pause_embedding=True, pause_head=True, lora={"r": 2, "alpha": 4})
    train_pause_lm(loop, tok, _rows(8), epochs=1, batch_size=8, learning_rate=1e-2, progress=False)
    loop.save_pretrained(run / "loop-1", tok)  # a delta on the warm-up, itself one on the model
    size = sum(f.stat().st_size for f in (run / "loop-1").rglob("*.safetensors"))
    assert size < 0.1 * (path / "model.safetensors").stat().st_size
    shutil.move(tmp_path / "a", tmp_path / "b")  # the whole tree moves: relative parents hold
    ids = torch.tensor([[5, 6, loop.pause_token_id, 7]])
    with torch.no_grad():
        want = loop(ids)
        got = PauseLM.from_pretrained(tmp_path / "b" / "run" / "loop-1")(ids)
    assert all(torch.equal(a, b) for a, b in zip(want, got))


def test_loss_falls_and_evaluation_counts_pauses(pause_lm):
    model, tok = pause_lm
    model.set_trainable(pause_embedding=True, pause_head=True, lm_head=True, lm_embeddings=True,
                        lora=None)
    rows = _rows(32, pauses=4)
    before = eval_loss(model, tok, rows)
    train_pause_lm(model, tok, rows, epochs=4, batch_size=8, learning_rate=3e-3, progress=False)
    after = eval_loss(model, tok, rows)
    assert after["pause_loss"] < before["pause_loss"] and after["lm_loss"] < before["lm_loss"]
    test = gsm8k_splits(1, 1, 4, max_steps=1, seed=0)["test"]
    summary, records = evaluate_pause_gsm8k(model, tok, test, max_new_tokens=12, progress=False)
    assert [r["pauses"] for r in records] == [r["reply"].count(PAUSE) for r in records]
    assert summary["pauses"]["value"] == pytest.approx(sum(r["pauses"] for r in records) / 4)
    assert all(PAUSE not in str(r["predicted"]) for r in records)


def test_pause_star_samples_k_replies_per_problem_and_checkpoints_them(pause_lm, tmp_path):
    import json

    from reason_lib.experiments.pause_star.params import PauseStarParams
    from reason_lib.train.star_tasks import pause_star_run

    model, tok = pause_lm
    rows = gsm8k_splits(3, 2, 1, max_steps=1, seed=0)
    params = PauseStarParams(samples_per_problem=3, outer_loops=1, max_new_tokens=6,
                             eval_batch_size=8, epochs=1.0, batch_size=4)
    out = pause_star_run("star_pause_t1.0", params, rows["train"], rows["validation"],
                         lambda path=None: model if path is None else PauseLM.from_pretrained(path),
                         tok, tmp_path, progress=False)
    samples = [json.loads(x) for x in (tmp_path / "loop-1" / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 3 * 3  # three replies for each of the three problems
    assert [s["question"] for s in samples] == [r["question"] for r in rows["train"] for _ in range(3)]
    assert out["history"][1]["kept"] == sum(s["correct"] for s in samples)


def test_no_pause_baseline_is_a_plain_lm_fine_tune(tiny):
    """use_pauses=False: the pause parts stay frozen and the pause head cannot steer LoRA."""
    _, _, path = tiny
    tok = load_tokenizer(path)
    pid = add_pause_token(tok)
    rows = _rows(16, pauses=0)
    adapters, heads = [], []
    for head_seed in (1, 2):  # two pause heads that differ; both runs otherwise identical
        model = PauseLM(load_model(path), pid)
        torch.manual_seed(head_seed)
        torch.nn.init.normal_(model.pause_head.weight, std=1.0)
        torch.manual_seed(0)
        counts = model.set_trainable(pause_embedding=True, pause_head=True, lora={"r": 4, "alpha": 8},
                                     use_pauses=False)
        assert counts["pause_embedding"] == counts["pause_head"] == 0 and counts["lora"] > 0
        head = model.pause_head.weight.detach().clone()
        history = train_pause_lm(model, tok, rows, epochs=2, batch_size=8, learning_rate=1e-2,
                                 logging_steps=1, progress=False)
        assert torch.equal(model.pause_head.weight, head)
        assert all(h["loss"] == pytest.approx(h["lm_loss"]) for h in history)
        adapters.append({n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n})
        heads.append(head)
    assert not torch.equal(heads[0], heads[1])
    assert adapters[0].keys() == adapters[1].keys()
    for name in adapters[0]:
        assert torch.allclose(adapters[0][name], adapters[1][name], atol=1e-6), name


def test_trained_parts_of_a_bfloat16_pause_lm_are_float32_and_take_small_updates(tiny):
    _, _, path = tiny
    tok = load_tokenizer(path)
    model = PauseLM(load_model(path, dtype="bfloat16"), add_pause_token(tok))
    model.set_trainable(pause_embedding=True, pause_head=True, lm_head=True, lm_embeddings=False)
    trained = {"pause_embedding": model.pause_embedding, "pause_head": model.pause_head.weight,
               "lm_head": model.causal.get_output_embeddings().weight}
    assert {n: p.dtype for n, p in trained.items()} == dict.fromkeys(trained, torch.float32)
    assert next(model.causal.get_decoder().parameters()).dtype == torch.bfloat16  # frozen: bf16
    before = {n: p.detach().clone() for n, p in trained.items()}
    # an update of ~1e-5 is below bfloat16's resolution at these weights: in bf16 it would vanish
    train_pause_lm(model, tok, _rows(8), epochs=2, batch_size=4, learning_rate=1e-5, progress=False)
    for name, p in trained.items():
        assert not torch.equal(before[name], p.detach()), name


def test_micro_batched_pause_training_takes_the_same_step(pause_lm):
    model, tok = pause_lm
    model.set_trainable(pause_embedding=True, pause_head=True, lm_head=True)
    twin = copy.deepcopy(model)
    whole = train_pause_lm(model, tok, _rows(8), epochs=2, batch_size=8, learning_rate=1e-3,
                           progress=False, logging_steps=1)
    parts = train_pause_lm(twin, tok, _rows(8), epochs=2, batch_size=8, learning_rate=1e-3,
                           progress=False, logging_steps=1, micro_batch_size=2,
                           gradient_checkpointing=True)
    assert parts[0]["loss"] == pytest.approx(whole[0]["loss"], rel=0.05)  # per-part token means
    torch.testing.assert_close(twin.pause_head.weight, model.pause_head.weight, rtol=0, atol=2e-3)
