import pytest

from reason_lib.answers import extract_choice, extract_gsm8k, normalize_number
from reason_lib.rewards import choice_correctness, gsm8k_correctness


@pytest.mark.parametrize("text, expected", [
    ("3+4=<<3+4=7>>7\n#### 7", "7"),
    ("so the total is $1,234.", "1234"),
    ("He has 12.0 apples", "12"),
    ("#### -5", "-5"),
    ("first 3 then 4\n#### 1,000\nextra 9", "1000"),  # the #### line wins over later numbers
    ("no digits here", None),
    ("costs $3.50 each", "3.5"),
])
def test_extract_gsm8k(text, expected):
    assert extract_gsm8k(text) == expected


def test_normalize_number():
    assert normalize_number("$1,000.00") == "1000"
    assert normalize_number("7.") == "7"


@pytest.mark.parametrize("text, expected", [
    ("4 plus 3 equals 7.\nAnswer: C", "C"),
    ("The answer is (B).", "B"),
    ("answer: d", None),                 # lower-case letters are not options
    ("I will answer a question.", None),  # the word "answer" alone is not an answer
    ("Àròpọ̀ èjì àti ẹ̀ta jẹ́ àrún.\nÌdáhùn: A", "A"),
    ("Answer: A\nWait, no.\nAnswer: D", "D"),  # two answers: the last one counts
    ("", None),
])
def test_extract_choice(text, expected):
    assert extract_choice(text) == expected


def test_rewards_have_trl_signature():
    prompts = ["q1", "q2"]
    assert gsm8k_correctness(prompts, ["#### 4", "#### 5"], answer=["x\n#### 4", "y\n#### 6"]) == [1.0, 0.0]
    completions = [[{"role": "assistant", "content": "Answer: B"}], "nothing"]
    assert choice_correctness(prompts, completions, Answer=["B", "B"]) == [1.0, 0.0]
