import gzip
import json
import re

import pytest

from reason_lib.data import (DataError, gold_reward, gsm8k_splits, load_gsm8k, load_mmlu,
                             load_preferences, mmlu_splits, preference_splits)
from reason_lib.answers import extract_gsm8k
from reason_lib.config import data_root
from reason_lib.data.files import is_local
from reason_lib.data.multichoice import LETTERS, YORUBA_NUMBERS
from reason_lib.data.preferences import FACTS, POLITE, parse_hh

STEP = re.compile(r"<<(\d+)([-+*/])(\d+)=(\d+)>>\4")
OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
       "/": lambda a, b: a // b}


def test_gsm8k_generator_is_seeded_and_disjoint():
    a = gsm8k_splits(200, 30, 30, max_steps=4, seed=1)
    assert a == gsm8k_splits(200, 30, 30, max_steps=4, seed=1)
    assert a != gsm8k_splits(200, 30, 30, max_steps=4, seed=2)
    questions = {k: {r["question"] for r in v} for k, v in a.items()}
    assert [len(v) for v in questions.values()] == [200, 30, 30]
    assert not questions["train"] & questions["test"]
    assert not questions["train"] & questions["validation"]
    assert not questions["validation"] & questions["test"]


def test_gsm8k_rationales_are_exact_and_in_gsm8k_format():
    for row in gsm8k_splits(300, 1, 1, max_steps=4, seed=0)["train"]:
        steps = STEP.findall(row["answer"])
        assert len(steps) == row["n_steps"] and 1 <= row["n_steps"] <= 4
        value = None
        for a, op, b, c in steps:
            a, b, c = int(a), int(b), int(c)
            assert value is None or a == value  # each step continues from the last result
            assert OPS[op](a, b) == c and c >= 0
            if op == "/":
                assert a % b == 0
            value = c
        assert row["answer"].splitlines()[-1] == f"#### {value}"
        assert extract_gsm8k(row["answer"]) == str(value)


def test_mmlu_generator_aligns_languages():
    splits = mmlu_splits(120, 10, 10, seed=0)
    en, yo = splits["train"]["en"], splits["train"]["yo"]
    assert len(en) == len(yo) == 120
    for e, y in zip(en, yo):
        assert set(e) >= {"Question", *LETTERS, "Answer", "Subject"}
        assert (e["Answer"], e["Subject"]) == (y["Answer"], y["Subject"])
        assert e[e["Answer"]] in e["Rationale"]  # the rationale names the correct option
        assert y[y["Answer"]] in y["Rationale"]
        assert len({e[k] for k in LETTERS}) == 4
    yo_text = " ".join(r["Question"] + r["Rationale"] for r in yo)
    assert any(w in yo_text for w in YORUBA_NUMBERS[1:]) and "ẹ" in yo_text
    keys = {k: {r["Question"] + "".join(r[c] for c in LETTERS) for r in v["en"]}
            for k, v in splits.items()}
    assert not keys["train"] & keys["test"]


def test_gold_reward_rules():
    facts = FACTS["tea"]
    assert gold_reward("tea", facts[:2]) == 2.0
    assert gold_reward("tea", facts[:2] + [POLITE[0]]) == 2.5
    assert gold_reward("tea", [facts[0], facts[0], facts[0]]) == -1.0  # repetition is punished
    assert gold_reward("tea", [FACTS["bees"][0]]) == -1.0  # off-topic
    assert gold_reward("tea", facts + facts[:2]) < gold_reward("tea", facts)


def test_preference_pairs_rank_by_gold():
    splits = preference_splits(100, 10, 10, seed=0)
    assert all(r["gold_chosen"] > r["gold_rejected"] for r in splits["train"])
    noisy = preference_splits(300, 1, 1, seed=0, label_noise=0.3)["train"]
    flipped = sum(r["gold_chosen"] < r["gold_rejected"] for r in noisy) / len(noisy)
    assert 0.2 < flipped < 0.4


def test_load_gsm8k_file_and_errors(tmp_path):
    path = tmp_path / "g.jsonl"
    rows = [{"question": "q1", "answer": "a\n#### 3"}, {"question": "q2", "answer": "b\n#### 4"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert load_gsm8k(str(path)) == rows
    assert load_gsm8k(str(path), limit=1) == rows[:1]
    path.write_text(json.dumps(rows[0]) + "\n{not json\n" + json.dumps({"question": "q"}) + "\n")
    with pytest.raises(DataError, match=r"g\.jsonl, line 2"):
        load_gsm8k(str(path))
    stats = {}
    assert load_gsm8k(str(path), skip_malformed=True, stats=stats) == rows[:1]
    assert stats["skipped"] == 2
    with pytest.raises(DataError, match="data file not found"):
        load_gsm8k(str(tmp_path / "missing.jsonl"))


def test_gsm8k_data_takes_train_validation_and_test_from_files(tmp_path):
    from reason_lib.data import gsm8k_data

    rows = [{"question": f"q{i}", "answer": f"{i}+0={i}\n#### {i}"} for i in range(8)]
    train_file, test_file = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    train_file.write_text("".join(json.dumps(r) + "\n" for r in rows))
    test_file.write_text("".join(json.dumps(r) + "\n" for r in rows[::-1]))
    data = gsm8k_data(str(train_file), str(test_file), 3, 2, 4)
    assert [r["question"] for r in data["train"]] == ["q0", "q1", "q2"]
    assert [r["question"] for r in data["validation"]] == ["q3", "q4"]
    assert [r["question"] for r in data["test"]] == ["q7", "q6", "q5", "q4"]
    offline = gsm8k_data("", "", 3, 2, 4, seed=5)
    assert offline == gsm8k_splits(3, 2, 4, seed=5)


def test_load_mmlu_csv_in_mmmlu_schema(tmp_path):
    path = tmp_path / "mmlu_YO-NG.csv"
    path.write_text(",Question,A,B,C,D,Answer,Subject\n"
                    '0,"Kí ni àròpọ̀ èjì àti ẹ̀ta?",àrún,ẹ̀fà,èje,ẹ̀jọ,A,elementary_mathematics\n'
                    "1,Which is red?,sky,grass,blood,snow,C,misc\n")
    rows = load_mmlu(str(path), language="yo")
    assert [r["Answer"] for r in rows] == ["A", "C"]
    assert rows[0]["A"] == "àrún" and rows[1]["Subject"] == "misc"
    path.write_text(",Question,A,B,C,D,Answer,Subject\n0,q,a,b,c,d,E,s\n")
    with pytest.raises(DataError, match="field 'Answer' is 'E'"):
        load_mmlu(str(path))


def test_hh_rlhf_parsing(tmp_path):
    prompt, reply = parse_hh("\n\nHuman: hi\n\nAssistant: hello\n\nHuman: how?\n\nAssistant: like this")
    assert prompt == [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
                      {"role": "user", "content": "how?"}]
    assert reply == "like this"
    path = tmp_path / "hh.jsonl.gz"
    good = {"chosen": "\n\nHuman: x\n\nAssistant: good", "rejected": "\n\nHuman: x\n\nAssistant: bad"}
    bad = {"chosen": "\n\nHuman: x\n\nAssistant: a", "rejected": "\n\nHuman: y\n\nAssistant: b"}
    with gzip.open(path, "wt") as f:
        f.write(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(DataError, match="line 2:"):
        load_preferences(str(path))
    stats = {}
    rows = load_preferences(str(path), skip_malformed=True, stats=stats)
    assert rows == [{"prompt": [{"role": "user", "content": "x"}], "chosen": "good", "rejected": "bad"}]
    assert stats["skipped"] == 1


def test_preference_data_keeps_last_turns_and_skips_malformed(tmp_path):
    from conftest import write_hh_pairs

    from reason_lib.data.preferences import preference_data

    path = write_hh_pairs(tmp_path / "hh.jsonl", 6, malformed_at=3)
    with pytest.raises(DataError, match="line 4:"):
        preference_data(str(path), 4, 2)
    stats = {}
    train, test, gold = preference_data(str(path), 4, 2, context_turns=1, skip_malformed=True,
                                        stats=stats)
    assert stats["skipped"] == 1 and gold is None and len(train) == 4 and len(test) == 2
    assert all(len(r["prompt"]) == 1 and r["prompt"][0]["content"].startswith("r") for r in train + test)
    assert {r["prompt"][0]["content"] for r in train + test} == {f"r{i}" for i in range(6)}
    full, _, _ = preference_data(str(path), 4, 2, skip_malformed=True)
    assert all(len(r["prompt"]) == 3 for r in full)


def test_is_local_tells_paths_from_hub_ids(tmp_path):
    assert is_local("data/test.jsonl") and is_local(str(tmp_path))
    assert not is_local("openai/gsm8k")


REAL = data_root()


@pytest.mark.skipif(not (REAL / "gsm8k" / "test.jsonl").exists(), reason="real data not beside the checkout")
def test_real_data_loads():
    gsm = load_gsm8k(str(REAL / "gsm8k" / "test.jsonl"))
    assert len(gsm) == 1319 and extract_gsm8k(gsm[0]["answer"]) == "18"
    mmlu = load_mmlu(str(REAL / "mmlu" / "test.csv"))
    assert len(mmlu) == 14042 and len({r["Subject"] for r in mmlu}) == 57
    hh = load_preferences(str(REAL / "hh-rlhf" / "harmless-base-test.jsonl.gz"), skip_malformed=True)
    assert len(hh) > 2000 and all(r["prompt"][-1]["role"] == "user" for r in hh)


def test_stratified_spreads_rows_over_subjects():
    from collections import Counter

    from reason_lib.data.mmlu import stratified

    rows = [{"Subject": s, "i": i} for s, n in [("a", 50), ("b", 3), ("c", 20)] for i in range(n)]
    picked = stratified(rows, 30, seed=1)
    assert len(picked) == 30 and len({(r["Subject"], r["i"]) for r in picked}) == 30
    counts = Counter(r["Subject"] for r in picked)
    assert counts["b"] == 3 and abs(counts["a"] - counts["c"]) <= 1  # b runs out, a and c share
    assert stratified(rows, 30, seed=1) == picked and stratified(rows, 30, seed=2) != picked
    assert len(stratified(rows, 500)) == len(rows)


def _shapes(row):
    """The sentence shapes of a question: names, objects and numbers replaced by placeholders."""
    from reason_lib.data.synthetic import NAMES, OBJECTS

    text = re.sub(r"\d+", "#", row["question"])
    text = re.sub(r"\b(" + "|".join(NAMES) + r")\b", "N", text)
    text = re.sub(r"\b(" + "|".join(OBJECTS) + r")\b", "O", text)
    return set(re.findall(r"[^.?]+[.?]", text))


def test_gsm8k_paraphrase_split_never_shares_a_sentence_shape_with_training():
    from reason_lib.data import gsm8k_paraphrase

    splits = gsm8k_splits(3000, 100, 100, max_steps=4, seed=0)
    seen = set().union(*(_shapes(r) for rows in splits.values() for r in rows))
    para = gsm8k_paraphrase(300, max_steps=4, seed=0)
    assert para == gsm8k_paraphrase(300, max_steps=4, seed=0)
    for row in para:
        assert not _shapes(row) & seen, row["question"]
        steps = STEP.findall(row["answer"])  # the same exact rationale format
        assert len(steps) == row["n_steps"]
        assert row["answer"].splitlines()[-1] == f"#### {steps[-1][3]}"
    assert len({s for r in para for s in _shapes(r)}) >= 30  # many held-out shapes, not a few


def test_gsm8k_problems_vary_and_some_carry_a_distractor():
    rows = gsm8k_splits(2000, 1, 1, max_steps=3, seed=0)["train"]
    shapes = set().union(*(_shapes(r) for r in rows))
    assert len(shapes) >= 120
    names = [r["answer"].split()[0] for r in rows]
    assert len(set(names)) >= 40
    # a distractor names a second person; the rationale never uses that person's number
    from reason_lib.data.synthetic import NAMES

    with_other = [r for r in rows if len(set(re.findall(r"\b[A-Z][a-z]+\b", r["question"]))
                                          & set(NAMES)) > 1]
    assert 0.2 < len(with_other) / len(rows) < 0.4


def test_check_data_reads_every_source_a_run_names_with_the_runs_own_settings(tmp_path):
    from conftest import write_hh_pairs

    from reason_lib.config import EXPERIMENTS, load_params
    from reason_lib.checks import check_data

    # offline: no data file to read (evaluate first finds its models: tests/test_benches.py)
    for experiment in set(EXPERIMENTS) - {"base_model", "evaluate"}:
        assert check_data(experiment, load_params(experiment, "ci")) == {}
    if (REAL / "gsm8k" / "test.jsonl").exists():  # the ci base model also scores real files
        assert check_data("base_model", load_params("base_model", "ci")) == {
            "real_gsm8k_test $REASON_LIB_DATA/gsm8k/test.jsonl": 4,
            "real_mmlu $REASON_LIB_DATA/mmlu/test.csv": 14042}
    path = write_hh_pairs(tmp_path / "hh.jsonl", 18, malformed_at=5)
    strict = load_params("reinforce_rm", "ci", {"preference_data": str(path), "n_train": 10, "batch_size": 8,
                                                "n_test": 10})
    with pytest.raises(DataError, match=rf"{path}, line 6: field 'chosen'/'rejected'"):
        check_data("reinforce_rm", strict)
    lenient = load_params("reinforce_rm", "ci", {"preference_data": str(path), "n_train": 10, "batch_size": 8,
                                                 "n_test": 10, "skip_malformed": True})
    with pytest.raises(DataError, match="18 pairs, fewer than n_train \\+ n_test = 20"):
        check_data("reinforce_rm", lenient)
    enough = load_params("reinforce_rm", "ci", {"preference_data": str(path), "n_train": 10, "batch_size": 8,
                                                "n_test": 8, "skip_malformed": True})
    assert check_data("reinforce_rm", enough) == {f"preference_data {path}": 18}


def test_hub_ids_load_from_a_local_mirror_in_the_hub_layout(tmp_path, monkeypatch, tiny):
    from reason_lib.config import resolve_source
    from reason_lib.data.gsm8k import gsm8k_data
    from reason_lib.data.mirror import write_dataset
    from reason_lib.models import load_model

    mirror = tmp_path / "mirror"
    gsm = [{"question": f"q{i}?", "answer": f"{i}+1=<<{i}+1={i + 1}>>{i + 1}\n#### {i + 1}"}
           for i in range(5)]
    write_dataset(mirror / "openai/gsm8k", {"main": {"train": gsm[:3], "test": gsm[3:]}})
    cais = [{"question": "2+2?", "subject": "math", "choices": ["1", "2", "3", "4"], "answer": 3}]
    write_dataset(mirror / "cais/mmlu", {"all": {"test": cais}})
    mmmlu = [{"Unnamed: 0": 0, "Question": "2+2?", "A": "ookan", "B": "eeji", "C": "eeta",
              "D": "eerin", "Answer": "D", "Subject": "math"}]
    write_dataset(mirror / "openai/MMMLU", {"YO_NG": {"test": mmmlu}})
    write_dataset(mirror / "openai/MMMLU", {"FR_FR": {"test": mmmlu}})  # a second config kept
    hh = [{"chosen": "\n\nHuman: hi\n\nAssistant: hello", "rejected": "\n\nHuman: hi\n\nAssistant: go"}]
    write_dataset(mirror / "Anthropic/hh-rlhf", {"default": {"train": hh}})
    tiny[0].save_pretrained(mirror / "someorg/tiny-model")
    monkeypatch.setenv("REASON_LIB_HUB_MIRROR", str(mirror))

    assert resolve_source("openai/gsm8k") == str(mirror / "openai/gsm8k")
    assert resolve_source("nobody/absent") == "nobody/absent"  # not mirrored: the Hub id itself
    assert [r["question"] for r in load_gsm8k("openai/gsm8k", "test")] == ["q3?", "q4?"]
    data = gsm8k_data("openai/gsm8k", "openai/gsm8k", 2, 1, 2)
    assert [r["question"] for r in data["train"] + data["validation"] + data["test"]] == \
        ["q0?", "q1?", "q2?", "q3?", "q4?"]
    (row,) = load_mmlu(resolve_source("cais/mmlu"))  # integer answer and choices list mapped
    assert (row["Answer"], row["D"], row["Subject"]) == ("D", "4", "math")
    (yo,) = load_mmlu(resolve_source("openai/MMMLU"), "YO_NG")
    assert (yo["Answer"], yo["B"]) == ("D", "eeji")
    assert len(load_mmlu("openai/MMMLU", "FR_FR")) == 1
    write_dataset(mirror / "openai/gsm8k", {"main": {"train": gsm[:1], "test": gsm[1:]}})
    assert len(load_gsm8k("openai/gsm8k", "test")) == 4  # a refreshed mirror is read afresh
    (pair,) = load_preferences("Anthropic/hh-rlhf", "train")
    assert (pair["chosen"], pair["rejected"]) == ("hello", "go")
    model = load_model(resolve_source("someorg/tiny-model"))
    assert model.config.hidden_size == tiny[0].config.hidden_size


# -- a world with no leaks (issue 35): 0 overlaps by the stated keys -------------------------------
def test_no_test_validation_or_paraphrase_problem_is_a_training_problem_reworded():
    """Keys: the chain (person, start, every operation and operand) and the rationale."""
    from reason_lib.data import gsm8k_paraphrase
    from reason_lib.data.synthetic import chain

    splits = gsm8k_splits(4000, 400, 400, max_steps=3, max_operand=10, seed=0)
    para = gsm8k_paraphrase(400, max_steps=3, max_operand=10, seed=0)
    train_chains = {chain(r) for r in splits["train"]}
    train_answers = {r["answer"] for r in splits["train"]}
    for name, rows in [("validation", splits["validation"]), ("test", splits["test"]),
                       ("paraphrase", para)]:
        assert not {chain(r) for r in rows} & train_chains, name
        assert not {r["answer"] for r in rows} & train_answers, name
    assert not {chain(r) for r in splits["validation"]} & {chain(r) for r in splits["test"]}


def _pattern(template: str, whole: bool) -> re.Pattern:
    """A frame (`whole`: the sentence) or a phrase (the end of a sentence) as a regex."""
    from reason_lib.data.synthetic import NAMES, OBJECTS

    fields = {"n": "(?:" + "|".join(NAMES) + ")", "m": "(?:" + "|".join(NAMES) + ")",
              "o": "(?:" + "|".join(OBJECTS) + ")", "q": "(?:" + "|".join(OBJECTS) + ")",
              "p": ".+", "x": r"\d+", "y": r"\d+", "a": r"\d+", "k": r"\d+"}
    parts = re.split(r"\{(\w)\}", template)
    body = "".join(re.escape(t) if i % 2 == 0 else fields[t] for i, t in enumerate(parts))
    return re.compile(body if whole else r"\b" + body + r"[.?]$")


def _sentences(rows):
    return {s for r in rows for s in re.findall(r"[^.?]+[.?]", r["question"])} | \
        {s.strip() for r in rows for s in re.findall(r"[^.?]+[.?]", r["question"])}


def test_held_out_frames_and_phrases_never_occur_in_training():
    """Every paraphrase sentence pairs a frame and a phrase that no training sentence uses, as a
    wording (the same words in another frame or phrase are not a leak)."""
    from reason_lib.data import gsm8k_paraphrase
    from reason_lib.data.synthetic import (DISTRACTOR_FRAMES, DISTRACTOR_PHRASES, PHRASES,
                                           QUESTION_FRAMES, QUESTION_PHRASES, START_FRAMES,
                                           START_PHRASES, STEP_FRAMES, held_out)

    train = _sentences(gsm8k_splits(6000, 1, 1, max_steps=4, seed=0)["train"])
    para = _sentences(gsm8k_paraphrase(400, max_steps=4, seed=0))
    frames = [STEP_FRAMES, START_FRAMES, QUESTION_FRAMES, DISTRACTOR_FRAMES]
    phrases = [START_PHRASES, QUESTION_PHRASES, DISTRACTOR_PHRASES] + \
        [[q for q, _ in v] for v in PHRASES.values()]
    used = 0
    for kind in frames + phrases:
        held = held_out(kind)
        assert 1 <= len(held) < len(kind), kind  # every kind holds some wording out, not all
        for template in held:
            pattern = _pattern(template, whole=kind in frames)
            match = pattern.fullmatch if kind in frames else pattern.search
            assert not any(match(s) for s in train), template
            used += any(match(s) for s in para)
    assert used >= 30  # and the paraphrase problems do use the held-out wordings


def test_multiple_choice_test_questions_never_occur_in_training():
    """Keys: an arithmetic question alone; any other question with its set of option values."""
    from reason_lib.data.multichoice import LETTERS as L

    splits = mmlu_splits(5000, 1500, 1500, seed=0)

    def key(r):
        if r["Subject"] == "elementary_arithmetic":
            return r["Question"]
        return r["Question"] + "|" + ",".join(sorted(r[c] for c in L))

    train = {key(r) for r in splits["train"]["en"]}
    for name in ("validation", "test"):
        assert not {key(r) for r in splits[name]["en"]} & train, name
    sums = {r["Question"] for r in splits["test"]["en"] if r["Subject"] == "elementary_arithmetic"}
    assert sums and not sums & {r["Question"] for r in splits["train"]["en"]}


def test_preference_training_and_evaluation_prompts_are_disjoint():
    splits = preference_splits(1500, 1, 500, seed=0)
    prompts = {k: {r["prompt"][0]["content"] for r in v} for k, v in splits.items()}
    assert not prompts["train"] & prompts["test"]
    assert len(prompts["test"]) >= 5 and len({r["topic"] for r in splits["test"]}) >= 4


def _gsm_file(path, answers):
    path.write_text("".join(json.dumps({"question": f"q{i}?", "answer": a}) + "\n"
                            for i, a in enumerate(answers)))
    return path


@pytest.mark.parametrize("answers, words", [
    ([], ["no data rows (empty file)"]),
    (["2 + 2 = 4\n#### 4", "so twelve\n#### twelve"], ["line 2", "'#### twelve' is not '#### N'"]),
    (["3 + 4 = 7\n####"], ["line 1", "'####' is not '#### N'"]),
    (["no final line at all, 7"], ["line 1", "no '#### N' line"]),
])
def test_a_gsm8k_file_must_hold_rows_each_ending_with_a_number(tmp_path, answers, words):
    """An empty file once scored NaN on 0 items, and `#### twelve` or a bare `####` became the
    last number of the solution, silently."""
    from reason_lib.data.gsm8k import load_gsm8k

    with pytest.raises(DataError) as e:
        load_gsm8k(str(_gsm_file(tmp_path / "g.jsonl", answers)))
    for w in words:
        assert w in str(e.value)


def test_a_train_file_too_short_for_its_validation_split_is_refused(tmp_path):
    """Exactly n_train rows once left validation empty, so STaR always kept loop 0."""
    from reason_lib.data.gsm8k import gsm8k_data

    path = _gsm_file(tmp_path / "train.jsonl", [f"{i} + 1\n#### {i + 1}" for i in range(10)])
    with pytest.raises(DataError, match=r"10 rows, but n_train 10 \+ n_validation 2 = 12"):
        gsm8k_data(str(path), "", 10, 2, 4)
    assert len(gsm8k_data(str(path), "", 8, 2, 4)["validation"]) == 2
    assert gsm8k_data(str(path), "", 10, 0, 4)["validation"] == []  # none asked, none needed
    with pytest.raises(DataError, match=r"10 rows, but n_test 20"):
        gsm8k_data("", str(path), 8, 2, 20)


def test_a_byte_that_is_not_utf8_names_its_line_and_column(tmp_path):
    path = tmp_path / "g.jsonl"
    good = json.dumps({"question": "q?", "answer": "#### 1"}).encode()
    path.write_bytes(good + b"\n" + good.replace(b"q?", b"q\xff?") + b"\n")
    from reason_lib.data.gsm8k import load_gsm8k

    with pytest.raises(DataError, match=r"g.jsonl, line 2: not UTF-8 text \(byte 0xff at column 16\)"):
        load_gsm8k(str(path))


def test_a_csv_record_is_named_by_the_line_it_starts_on(tmp_path):
    """Row and line once named one record differently; a quoted field may span lines."""
    from reason_lib.data.mmlu import load_mmlu

    path = tmp_path / "m.csv"
    path.write_text('Question,A,B,C,D,Answer,Subject\n"two\nlines",1,2,3,4,A,math\n'
                    "q,1,2,3,4,E,math\n")
    with pytest.raises(DataError, match=r"m.csv, line 4: field 'Answer' is 'E'"):
        load_mmlu(str(path))


def test_one_subset_of_a_hub_preference_dataset(tmp_path):
    """Anthropic/hh-rlhf keeps four subsets side by side and loads all four without data_dir;
    preference_subset picks one (here from a folder in the Hub's layout)."""
    from reason_lib.data.preferences import preference_data

    hub = tmp_path / "hh-rlhf"
    for subset, word in (("harmless-base", "safe"), ("helpful-base", "useful")):
        (hub / subset).mkdir(parents=True)
        with gzip.open(hub / subset / "train.jsonl.gz", "wt") as f:
            for i in range(6):
                f.write(json.dumps({"chosen": f"\n\nHuman: q{i}?\n\nAssistant: {word} {i}",
                                    "rejected": f"\n\nHuman: q{i}?\n\nAssistant: no"}) + "\n")
    train, test, _ = preference_data(str(hub), 4, 2, subset="harmless-base")
    assert {r["chosen"].split()[0] for r in train + test} == {"safe"}
    train, test, _ = preference_data(str(hub), 8, 4)
    assert {r["chosen"].split()[0] for r in train + test} == {"safe", "useful"}
