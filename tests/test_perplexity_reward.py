"""The perplexity reward (rewards.PerplexityReward) and the GRPO reward setup."""

import math
from types import SimpleNamespace

import pytest
import torch

from reason_lib.answers import extract_gsm8k
from reason_lib.data import gsm8k_prompt
from reason_lib.rewards import PerplexityReward, gold_target, strip_final_answer
from reason_lib.train.grpo import reward_setup


class CopyLM(torch.nn.Module):
    """A constructed scorer: predicts tokens it has already seen in the context (a bag-of-tokens
    copier), and records every input it is shown."""

    def __init__(self, vocab_size: int):
        super().__init__()
        self.vocab_size = vocab_size
        self.dummy = torch.nn.Parameter(torch.zeros(1))
        self.seen: list[torch.Tensor] = []

    def forward(self, input_ids, attention_mask=None, logits_to_keep=0):
        self.seen.append(input_ids.clone())
        one_hot = torch.nn.functional.one_hot(input_ids, self.vocab_size).float()
        counts = one_hot.cumsum(dim=1)  # tokens seen up to and including each position
        keep = slice(-logits_to_keep, None) if isinstance(logits_to_keep, int) else logits_to_keep
        return SimpleNamespace(logits=4.0 * (counts[:, keep] > 0).float())  # as transformers does


ROW = {"question": "Ada has 3 apples. She buys 4 more. How many apples does Ada have now?",
       "answer": "Ada starts with 3 apples.\nAfter buying 4 more, Ada has 3+4=<<3+4=7>>7 apples.\n#### 7"}


def test_strip_final_answer_and_gold_target():
    assert strip_final_answer("3+4=7 apples.\n#### 7") == "3+4=7 apples."
    assert strip_final_answer("a\nso #### 9\nmore text") == "a"
    assert strip_final_answer("no final line") == "no final line"


@pytest.mark.parametrize("ending", [
    "\n#### 42", "\nSo the answer is 42.", " The answer is 42", "\nAnswer: 42", "\nFinal answer: $42",
    "\nThe final answer is \\boxed{42}", "\nSo the answer is 42.\n#### 42", "\nanswer = 42",
    "\nSo she has 42 apples left.",  # no statement: the extractor's fallback, the last number
])
def test_no_form_of_the_final_answer_reaches_the_scorer(ending):
    """Every way `extract_gsm8k` finds 42 in a reply; the reasoning before it is kept."""
    reply = "Ada has 6 boxes of 7 apples, 6*7 apples in all." + ending
    assert extract_gsm8k(reply) == "42"
    stripped = strip_final_answer(reply)
    assert "42" not in stripped and stripped.startswith("Ada has 6 boxes of 7 apples")
    assert gold_target(ROW["answer"]) == "#### 7"
    assert gold_target("x\n#### 1,000", "answer_text") == "1000"


def test_reasoning_that_leads_to_gold_is_ranked_higher(tiny):
    _, tok, _ = tiny
    scorer = PerplexityReward(CopyLM(len(tok)), tok, form="logprob")
    good = "Ada has 3+4=<<3+4=7>>7 apples.\n#### 7"
    bad = "Ada has 3-1=<<3-1=2>>2 apples.\n#### 2"
    r = scorer([gsm8k_prompt(ROW)] * 2, [good, bad], answer=[ROW["answer"]] * 2)
    assert r[0] > r[1]
    prob = PerplexityReward(CopyLM(len(tok)), tok, form="prob")([gsm8k_prompt(ROW)], [good], [ROW["answer"]])
    assert prob[0] == pytest.approx(math.exp(r[0]), rel=1e-6)


def test_the_scorer_never_sees_the_policys_final_answer(tiny):
    _, tok, _ = tiny
    lm = CopyLM(len(tok))
    scorer = PerplexityReward(lm, tok)
    scorer([gsm8k_prompt(ROW)], ["Ada has 3+4=<<3+4=7>>7 apples.\n#### 96"], answer=[ROW["answer"]])
    text = tok.decode(lm.seen[0][0], skip_special_tokens=True)
    assert "96" not in text
    assert text.endswith("apples.\n#### 7")  # the context, then the gold line the scorer predicts


def test_the_leak_ablation_hands_the_scorer_the_policys_own_answer(tiny):
    """perplexity_visible: the same scorer reads the whole reply, so a reply stating the gold
    answer scores far higher than with the answer removed; the plain reward is unchanged."""
    _, tok, _ = tiny
    lm = CopyLM(len(tok))
    scorer = PerplexityReward(lm, tok, form="logprob")
    (funcs, weights) = reward_setup("perplexity_visible", scorer)
    leaky = funcs[1]
    assert weights == [0.0, 1.0] and leaky.__name__ == "perplexity" and scorer.strip_answer
    reply = ["Ada has some apples.\n#### 7"]  # no reasoning towards 7: only the stated answer
    hidden = scorer([gsm8k_prompt(ROW)], reply, answer=[ROW["answer"]])[0]
    shown = leaky([gsm8k_prompt(ROW)], reply, answer=[ROW["answer"]])[0]
    assert "#### 7\n#### 7" in tok.decode(lm.seen[-1][0], skip_special_tokens=True)
    assert shown > hidden + 1.0


def test_batched_and_one_at_a_time_scores_agree(tiny):
    model, tok, _ = tiny
    scorer = PerplexityReward(model, tok, form="logprob", batch_size=8)
    prompts = [gsm8k_prompt(ROW)] * 3
    completions = ["3+4=7", "Ada has a lot of apples and more words here\n#### 5", ""]
    answers = [ROW["answer"], "x\n#### 12", "y\n#### 3"]
    batched = scorer(prompts, completions, answer=answers)
    single = [scorer([p], [c], answer=[a])[0] for p, c, a in zip(prompts, completions, answers)]
    assert batched == pytest.approx(single, abs=1e-5)
    assert model.training is False and not any(p.requires_grad for p in model.parameters())


def test_bad_form_is_rejected(tiny):
    _, tok, _ = tiny
    with pytest.raises(ValueError, match="perplexity reward form 'ppl'"):
        PerplexityReward(CopyLM(len(tok)), tok, form="ppl")


def test_reward_setup_always_logs_both_components(tiny):
    _, tok, _ = tiny
    scorer = PerplexityReward(CopyLM(len(tok)), tok)
    for kind, weights in [("correctness", [1.0, 0.0]), ("perplexity", [0.0, 1.0]),
                          ("hybrid", [0.5, 2.0])]:
        funcs, w = reward_setup(kind, scorer, [0.5, 2.0])
        assert len(funcs) == 2 and w == weights
    with pytest.raises(ValueError, match="reward type 'ppl'"):
        reward_setup("ppl", scorer)


def test_grpo_trains_and_logs_every_reward_component(tiny, tmp_path, outputs):
    from reason_lib import runs
    from reason_lib.config import load_params
    from reason_lib.models import load_model, load_tokenizer
    from reason_lib.train.grpo import grpo

    _, _, path = tiny
    policy, tok = load_model(path), load_tokenizer(path)
    start = {n: p.detach().clone() for n, p in policy.named_parameters()}
    scorer = PerplexityReward(load_model(path), tok)
    funcs, weights = reward_setup("hybrid", scorer, [1.0, 1.0])
    run = runs.Run.create("perplexity_grpo", load_params("perplexity_grpo", "ci"), "ci")
    rows = [{"prompt": gsm8k_prompt(ROW), "answer": ROW["answer"]}] * 4
    policy, history = grpo(policy, tok, rows, funcs, tmp_path / "ck", run=run,
                           reward_weights=weights, steps=2, batch_size=4, num_generations=4,
                           learning_rate=1e-2, max_completion_length=8, log_prefix="hybrid/")
    logged = [h for h in history if "rewards/perplexity/mean" in h]
    assert len(logged) == 2 and all("rewards/gsm8k_correctness/mean" in h for h in logged)
    assert any("hybrid/rewards/perplexity/mean" in h for h in run.history())
    assert any(not torch.equal(start[n], p) for n, p in policy.named_parameters())


def digit_share(prompts, completions, **_):
    """A reward the policy can certainly learn: the share of its reply's characters that are digits."""
    from reason_lib.answers import completion_text

    texts = [completion_text(c) for c in completions]
    return [sum(ch.isdigit() for ch in t) / max(len(t), 1) for t in texts]


def fewer_digits(prompts, completions, **kwargs):
    return [1.0 - s for s in digit_share(prompts, completions, **kwargs)]


@pytest.mark.parametrize("reward, rises", [(digit_share, True), (fewer_digits, False)])
def test_grpo_moves_the_policy_the_way_its_reward_points(tiny, tmp_path, reward, rises):
    """The positive control of the GRPO pipeline: rewarding digits makes replies fill with digits;
    the same run with the reward turned around does not (so the rise is the reward's doing)."""
    from reason_lib.data import gsm8k_splits
    from reason_lib.models import load_model, load_tokenizer
    from reason_lib.train.grpo import grpo

    _, _, path = tiny
    rows = [{"prompt": gsm8k_prompt(r), "answer": r["answer"]}
            for r in gsm8k_splits(16, 1, 1, seed=0)["train"]]
    _, history = grpo(load_model(path), load_tokenizer(path), rows, [reward], tmp_path / "ck",
                      steps=20, batch_size=16, num_generations=8, learning_rate=3e-2,
                      max_completion_length=16, save_steps=1000)
    share = [h["reward"] if rises else 1.0 - h["reward"] for h in history if "reward" in h]
    first, last = sum(share[:5]) / 5, sum(share[-5:]) / 5
    if rises:
        assert last > first + 0.1, (first, last)
    else:
        assert last < first + 0.02, (first, last)
