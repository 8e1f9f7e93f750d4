"""reason_lib.data.pauses: the injector's counts, positions and patterns."""

import random
import re

from reason_lib.data import gsm8k_splits
from reason_lib.data.pauses import PAUSE, count_pauses, inject_pauses, pause_augment, strip_pauses

ANSWER = "Ada starts with 3 apples.\nAfter buying 4 more, Ada has 3+4=<<3+4=7>>7 apples.\n#### 7"


def test_random_pauses_are_counted_bounded_and_removable():
    rng = random.Random(0)
    counts = []
    for _ in range(300):
        text = inject_pauses(ANSWER, rng, n_random_pauses=3)
        counts.append(count_pauses(text))
        assert strip_pauses(text) == ANSWER  # only pauses were added
    assert set(counts) == {0, 1, 2, 3}  # variable, 0..n, every value reached


def test_random_pauses_sit_at_word_boundaries():
    rng = random.Random(1)
    for _ in range(100):
        text = inject_pauses(ANSWER, rng, n_random_pauses=4)
        for run in re.finditer(f"(?:{re.escape(PAUSE)})+", text):
            before, after = text[:run.start()], text[run.end():]
            # a run of pauses starts or ends the text, or sits between whitespace and a word
            assert before == "" or after == "" or (before[-1].isspace() and not after[0].isspace())


def test_pattern_pauses_follow_each_occurrence():
    text = inject_pauses(ANSWER, random.Random(0), n_random_pauses=0,
                         n_pauses_per_patterns={"=": 1, "\n": 2})
    assert count_pauses(text) == ANSWER.count("=") * 1 + ANSWER.count("\n") * 2 == 6
    assert f"={PAUSE}" in text and f"\n{PAUSE}{PAUSE}" in text
    assert strip_pauses(text) == ANSWER


def test_augment_makes_seeded_copies_of_any_gsm8k_rows():
    rows = gsm8k_splits(5, 1, 1, seed=0)["train"]
    a = pause_augment(rows, 3, n_generated_samples_per_datapoint=4, seed=7)
    assert len(a) == 20 and [r["question"] for r in a[:4]] == [rows[0]["question"]] * 4
    assert a == pause_augment(rows, 3, n_generated_samples_per_datapoint=4, seed=7)
    assert [strip_pauses(r["answer"]) for r in a[::4]] == [r["answer"] for r in rows]


def test_reward_conditioning_trains_on_the_ids_it_is_tested_with_on_sentencepiece():
    """On a SentencePiece tokenizer (the Mistral stand-in) a completion tokenized alone starts
    with an extra '▁': "[reward: 1]" trained one way and seen another at test time. Training
    now tokenizes prompt and reply as one string: its ids begin with exactly the ids inference
    encodes for prompt + conditioning prefix, and the loss mask starts after the prompt."""
    from pathlib import Path

    import yaml

    from reason_lib.experiments.pause_star.params import conditioning_prefix
    from reason_lib.generate import encode_prompts
    from reason_lib.train.pause import encode
    from standins import build_tokenizer

    traits = yaml.safe_load((Path(__file__).parent / "hub_traits.yaml").read_text())["models"]
    tok = build_tokenizer(traits["mistralai/Mistral-7B-v0.1"])
    tok.pad_token = tok.eos_token
    prompt, prefix = "Question: Tom has 3 apples and buys 2 more.\nAnswer:", conditioning_prefix("reward_cond")
    (ids, mask), = encode(tok, [{"prompt": prompt, "completion": prefix + "He has 5. #### 5"}])
    seen = encode_prompts(tok, [prompt + prefix]).input_ids[0].tolist()
    assert ids[:len(seen)] == seen
    alone = tok(prompt, add_special_tokens=False).input_ids
    assert mask == [0] * len(alone) + [1] * (len(ids) - len(alone)) and ids[:len(alone)] == alone
    # what training did before: the reply alone has another first token than inference sees
    assert tok(prefix, add_special_tokens=False).input_ids[0] != seen[len(alone)]
