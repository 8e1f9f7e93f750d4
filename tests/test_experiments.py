"""reason_lib.experiments: what each notebook saves, built by a function the summary reads back."""

import pytest

from reason_lib import summary
from reason_lib.experiments.pause_star import pipeline as pause_star
from reason_lib.experiments.pause_star.params import parse_variant
from reason_lib.evaluate import summarize
from reason_lib.experiments.star_mmlu import pipeline as star_mmlu
from reason_lib.train.star_tasks import parse_run


def _records(correct: list[bool]) -> list[dict]:
    return [{"correct": c, "predicted": "A" if c else None, "repeated_ngrams": 0, "longest_run": 1}
            for c in correct]


def _run_result(name, spec, correct_by_lang):
    records = {lg: _records(c) for lg, c in correct_by_lang.items()}
    return {**spec, "name": name, "best_loop": 1, "history": [{"loop": 0}, {"loop": 1}],
            "tested_loops": {"0": {"accuracy": {"value": 0.25}}, "1": {"accuracy": {"value": 0.5}}},
            "test": {lg: summarize(r) for lg, r in records.items()}, "records": records}


def test_star_mmlu_metrics_pair_each_run_with_the_start_model_and_the_summary_reads_them():
    before_correct = {"en": [True, False, False, True], "yo": [False, False, True, False]}
    before_records = {lg: _records(c) for lg, c in before_correct.items()}
    before = {lg: summarize(r) for lg, r in before_records.items()}
    results = {"translate_en_yo": _run_result("translate_en_yo", parse_run("translate_en_yo"),
                                              {"en": [True] * 4, "yo": [True, True, False, False]})}
    metrics, rows = star_mmlu.summarise(before, before_records, results)
    d = metrics["runs"]["translate_en_yo"]["difference"]
    # evaluated in Yoruba: items 0 and 1 gained, item 2 lost
    assert (d["gained"], d["lost"], d["value"]) == (2, 1, pytest.approx(0.25))
    assert metrics["runs"]["translate_en_yo"]["test_eval"]["accuracy"]["value"] == 0.5
    assert rows["translate_en_yo"]["gained / lost"] == "2 / 1"
    assert rows["translate_en_yo"]["accuracy (other)"].startswith("1.000")
    assert "overfit_check" not in metrics
    run = {"experiment": "star_mmlu", "status": "succeeded", "profile": "cpu", "run_id": "r1",
           "params": {"seed": 0, "runs": ["translate_en_yo"]}, "metrics": metrics, "started": "1"}
    [row] = summary.table("star_mmlu", [run], raw=True)
    assert row["test accuracy (eval language)"]["value"] == 0.5
    assert row["Yoruba"]["value"] == 0.5 and row["English"]["value"] == 1.0
    assert row["start (eval language)"]["value"] == 0.25
    # `--claims` tests the selected loop and the last alone: with loop 0 untested, the start
    # model's result still comes from its own test (`before`)
    del metrics["runs"]["translate_en_yo"]["tested_loops"]["0"]
    [row] = summary.table("star_mmlu", [run], raw=True)
    assert row["start (eval language)"]["value"] == 0.25


def test_star_mmlu_sanity_mode_records_the_overfit_verdict():
    before_records = {"en": _records([False] * 4)}
    before = {"en": summarize(before_records["en"])}
    results = {"english": _run_result("english", parse_run("english"),
                                      {"en": [True, True, True, False]})}
    metrics, _ = star_mmlu.summarise(before, before_records, results, single_batch=True,
                                     target=0.9)
    assert metrics["overfit_check"]["passed"] is False
    assert metrics["overfit_check"]["runs"]["english"]["accuracy"] == 0.75


def _pause_summary(correct: list[bool], pauses: float) -> tuple[dict, list[dict]]:
    records = _records(correct)
    s = summarize(records)
    p = {"value": pauses, "low": pauses, "high": pauses}
    return {**s, "pauses": p, "pauses_correct": p, "pauses_incorrect": p}, records


def test_pause_star_variant_is_tested_against_its_warm_up_and_the_summary_reads_it():
    """Each tested loop is scored once: the best loop is the test itself, loop 0 the warm-up's
    result; only the others are evaluated again. The summary reads the saved schema back."""
    spec = parse_variant("star_pause_t1.0")
    start, start_records = {}, {}
    for t in (0.0, 1.0):
        start[(True, "star", t)], start_records[(True, "star", t)] = \
            _pause_summary([False, False, True, True], 2.0)
    scored = []

    def test_eval(model, method, pauses, temperature):
        scored.append((model, temperature))
        return _pause_summary([True, True, True, False] if model == "best" else [False] * 4, 1.0)

    out = {"model": "best", "best_loop": 2, "tested_loops": [0, 1, 2],
           "history": [{"validation_accuracy": v} for v in (0.5, 0.25, 0.75)],
           "load": lambda loop: f"loop-{loop}"}
    r = pause_star.test_variant(out, spec, start, start_records, test_eval)
    assert scored == [("best", 0.0), ("best", 1.0), ("loop-1", 0.0)]
    assert (r["difference"]["gained"], r["difference"]["lost"]) == (2, 1)
    assert r["tested_loops"][0]["accuracy"] is start[(True, "star", 0.0)]["accuracy"]
    assert r["tested_loops"][1]["accuracy"]["value"] == 0.0
    metrics, table = pause_star.summarise(start, {"star_pause_t1.0": r})
    assert set(metrics["start"]) == {"pause/star", "pause/star/t1.0"}
    assert list(table) == ["warm-up (pauses)", "star_pause_t1.0"]
    assert table["star_pause_t1.0"]["tested loops (greedy)"] == "0: 0.500, 1: 0.000, 2: 0.750"
    run = {"experiment": "pause_star", "status": "succeeded", "profile": "cpu", "run_id": "r1",
           "params": {"seed": 0, "variants": ["star_pause_t1.0"]}, "metrics": metrics,
           "started": "1"}
    [row] = summary.table("pause_star", [run], raw=True)
    assert row["test accuracy (greedy)"]["value"] == 0.75
    assert row["warm-up (greedy)"]["value"] == 0.5
    assert row["last loop (greedy)"]["value"] == 0.75


def test_pause_star_without_sampled_tests_scores_greedy_alone_and_the_tables_say_so():
    """`sampled_tests` off (`--claims`): the variant and its warm-up are tested greedily alone; the
    saved metrics have no sampled scores, the table says "not tested", the summary reads none."""
    spec = parse_variant("star_no_pause_t1.5")
    assert pause_star.decodings(1.5) == (0.0, 1.5) and pause_star.decodings(1.5, False) == (0.0,)
    start, start_records = {}, {}
    start[(False, "star", 0.0)], start_records[(False, "star", 0.0)] = \
        _pause_summary([False, True, True, True], 0.0)
    scored = []

    def test_eval(model, method, pauses, temperature):
        scored.append((model, temperature))
        return _pause_summary([True, True, True, False], 0.0)

    out = {"model": "best", "best_loop": 1, "tested_loops": [1],
           "history": [{"validation_accuracy": v} for v in (0.5, 0.75)], "load": None}
    r = pause_star.test_variant(out, spec, start, start_records, test_eval, sampled=False)
    assert scored == [("best", 0.0)] and "test_sampled" not in r
    assert (r["difference"]["gained"], r["difference"]["lost"]) == (1, 1)
    metrics, table = pause_star.summarise(start, {"star_no_pause_t1.5": r})
    assert "test_sampled" not in metrics["variants"]["star_no_pause_t1.5"]
    assert table["star_no_pause_t1.5"]["test accuracy (sampled)"] == "not tested"
    assert table["warm-up (no pauses)"]["test accuracy (sampled)"] == "not tested"
    run = {"experiment": "pause_star", "status": "succeeded", "profile": "cpu", "run_id": "r1",
           "params": {"seed": 0, "variants": ["star_no_pause_t1.5"]}, "metrics": metrics,
           "started": "1"}
    [row] = summary.table("pause_star", [run], raw=True)
    assert row["test accuracy (greedy)"]["value"] == 0.75 and row["test accuracy (sampled)"] is None
