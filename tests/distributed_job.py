"""Training stages and generation in one job, for tests/test_distributed.py: run as one process
(`python tests/distributed_job.py MODEL OUT`) and as two (`accelerate launch --multi_gpu
--num_processes 2 tests/distributed_job.py MODEL OUT`); the main process writes what each stage
logged to OUT/results.json. MODEL: a tiny saved model (the `tiny` fixture's)."""

import json
import sys
from pathlib import Path

import torch
from transformers import set_seed

from reason_lib import distributed
from reason_lib.data import gsm8k_splits, preference_splits
from reason_lib.data.gsm8k import gsm8k_prompt
from reason_lib.evaluate import evaluate_gsm8k
from reason_lib.models import load_model, load_tokenizer
from reason_lib.data.pauses import pause_augment
from reason_lib.models.pause_lm import PauseLM, add_pause_token
from reason_lib.models.reward_model import load_reward_model
from reason_lib.train.dpo import dpo, dpo_rows
from reason_lib.train.pause import train_pause_lm
from reason_lib.train.reinforce import PolicyGradientConfig, policy_gradient
from reason_lib.train.reward import train_reward_model
from reason_lib.train.sft import conversation_rows, sft

def length(prompts, completions, **_):
    """A reward that differs between samples: the reply's length in characters."""
    return [float(len(c)) for c in completions]


def noisy(model):
    """The tiny model with its weights shaken (the same on every rank), so that its replies vary
    (untrained, it answers every prompt with newlines)."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.5)
    return model


def losses(history: list[dict], key: str = "loss") -> list[float]:
    return [h[key] for h in history if key in h]


# the same examples in each step: the Trainer's default random order is drawn by another sampler
# under several processes (accelerate's), so the test feeds the rows in order, in full batches
# (accelerate fills a short last batch with rows from the start)
SAME_BATCHES = dict(train_sampling_strategy="sequential", logging_steps=1, warmup_steps=0)


def main(model_path: str, out: str) -> None:
    out = Path(out)
    tok = load_tokenizer(model_path)
    gsm = gsm8k_splits(160, 4, 12, seed=0)
    results = {"processes": distributed.world_size()}

    model = noisy(load_model(model_path))  # sharded greedy generation: 12 problems, batches of 4
    _, records = evaluate_gsm8k(model, tok, gsm["test"], max_new_tokens=16, batch_size=4)
    results["greedy"] = [r["reply"] for r in records]

    set_seed(0)  # SFT: 48 rows, 16 per step over the processes
    rows = conversation_rows([gsm8k_prompt(r) for r in gsm["train"]],
                             [r["answer"] for r in gsm["train"]])[:48]
    assert len(rows) == 48, len(rows)
    _, history = sft(load_model(model_path), tok, rows, out / f"sft-{distributed.rank()}",
                     batch_size=16, learning_rate=1e-3, max_length=512, save_strategy="no",
                     **SAME_BATCHES)
    results["sft"] = losses(history)

    pairs = preference_splits(64, 1, 1, seed=0)["train"][:32]
    assert len(pairs) == 32, len(pairs)
    set_seed(0)  # DPO: 32 pairs, 8 per step
    prefs = dpo_rows([p["prompt"] for p in pairs], [p["chosen"] for p in pairs],
                     [p["rejected"] for p in pairs])
    _, history = dpo(load_model(model_path), tok, prefs, out / f"dpo-{distributed.rank()}",
                     batch_size=8, learning_rate=1e-3, max_length=512, **SAME_BATCHES)
    results["dpo"] = losses(history)

    set_seed(0)  # a level-1 reward model: 32 pairs, 8 per step
    rm = load_reward_model(model_path, 1, device="cpu")
    rm.config.pad_token_id = tok.pad_token_id
    _, history = train_reward_model(rm, tok, pairs, out / f"rm-{distributed.rank()}",
                                    batch_size=8, learning_rate=1e-3, max_length=512,
                                    save_strategy="no", **SAME_BATCHES)
    results["reward_model"] = losses(history)

    # the pause LM (pause embedding, head and LM head): 48 rows, 16 per step in parts of 8 (its
    # loss is a per-token mean within a part, each part weighted by its rows: two processes
    # taking 8 rows each compute exactly what one process does in two parts of 8)
    set_seed(0)
    pause_tok = load_tokenizer(model_path)
    pause_id = add_pause_token(pause_tok)
    pause_lm = PauseLM.from_pretrained(model_path, pause_token_id=pause_id)
    pause_lm.set_trainable(lm_head=True)
    pause_rows = [{"prompt": gsm8k_prompt(r), "completion": r["answer"]}
                  for r in pause_augment(gsm["train"][:48], 3, seed=0)]
    history = train_pause_lm(pause_lm, pause_tok, pause_rows, epochs=1.0, batch_size=16,
                             learning_rate=1e-3, logging_steps=1, progress=False,
                             micro_batch_size=8)
    results["pause_lm"] = {key: losses(history, key) for key in ("loss", "pause_loss")}
    # steps short of a batch (STaR's few correct rows): 5 rows split 3 + 2 (one process: parts of
    # 3), and 1 row (the second process takes part with weight 0)
    for name, n_rows in (("pause_lm_5_rows", 5), ("pause_lm_1_row", 1)):
        set_seed(0)
        pause_lm = PauseLM.from_pretrained(model_path, pause_token_id=pause_id)
        pause_lm.set_trainable(lm_head=True)
        history = train_pause_lm(pause_lm, pause_tok, pause_rows[:n_rows], epochs=3.0,
                                 batch_size=6, learning_rate=1e-2, logging_steps=1,
                                 progress=False, micro_batch_size=3)
        results[name] = losses(history)

    prompts = [{"prompt": p["prompt"], "topic": p["topic"]} for p in pairs]
    for method in ("reinforce", "rloo"):  # 4 prompts x 4 samples per step, each its own seed
        config = PolicyGradientConfig(method=method, steps=3, prompts_per_step=4, k=4,
                                      learning_rate=1e-3, max_new_tokens=8, seeded=True,
                                      save_every=0)
        _, history = policy_gradient(noisy(load_model(model_path)), tok, prompts, length,
                                     out / f"{method}-{distributed.rank()}", config,
                                     progress=False)
        results[method] = {key: losses(history, key) for key in ("loss", "reward", "grad_norm")}

    if distributed.is_main():
        (out / "results.json").write_text(json.dumps(results, indent=1))
    distributed.barrier()


if __name__ == "__main__":
    torch.set_num_threads(1)
    main(*sys.argv[1:])
