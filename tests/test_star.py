"""reason_lib.train.star: filtering, pairs, the outer loop, best-loop choice and resume."""

import shutil

import pytest
import torch

from reason_lib.models import load_model
from reason_lib.train.star import correct_rows, preference_pairs, star
from reason_lib.train.star_tasks import parse_run

ROWS = [{"question": "q1"}, {"question": "q2"}, {"question": "q3"}]
SAMPLES = [["a", "b", "c"], ["d", "e", "f"], ["g", "h", "i"]]
FLAGS = [[True, False, True], [False, False, False], [True, True, True]]


def test_correct_rows_keeps_only_correct_replies():
    kept = correct_rows(ROWS, SAMPLES, FLAGS)
    assert [(r["question"], c) for r, c in kept] == [("q1", "a"), ("q1", "c"), ("q3", "g"),
                                                    ("q3", "h"), ("q3", "i")]
    one = correct_rows(ROWS, SAMPLES, FLAGS, one_per_question=True)
    assert [r["question"] for r, _ in one] == ["q1", "q3"]
    assert one[0][1] in ("a", "c") and one[1][1] in ("g", "h", "i")


def test_preference_pairs_need_both_a_correct_and_an_incorrect_reply():
    pairs = preference_pairs(ROWS, SAMPLES, FLAGS)
    assert len(pairs) == 1  # q1 has one incorrect reply; q2 has no correct one, q3 no incorrect one
    row, chosen, rejected = pairs[0]
    assert row["question"] == "q1" and chosen in ("a", "c") and rejected == "b"


def test_parse_run():
    assert parse_run("translate_en_yo_dpo") == {"name": "translate_en_yo_dpo", "train_lang": "en",
                                                "eval_lang": "yo", "strategy": "dpo",
                                                "run_type": "translate"}
    assert parse_run("yoruba")["run_type"] == "yoruba"
    with pytest.raises(ValueError, match="french"):
        parse_run("french")


class Recorder:
    """Fake task callables: a scripted validation accuracy per call; fine-tuning nudges a weight."""

    def __init__(self, accuracies):
        self.accuracies, self.calls, self.finetuned = list(accuracies), 0, []

    def sample(self, model, rows):
        return [["right", "wrong"] for _ in rows]

    def is_correct(self, row, reply):
        return reply == "right"

    def finetune(self, model, rows, samples, flags, loop):
        self.finetuned.append((loop, sum(map(sum, flags))))
        with torch.no_grad():
            model.lm_head.weight[0, 0] = float(loop)  # tied: marks which loop made this model
        return model

    def validate(self, model):
        self.calls += 1
        return self.accuracies[self.calls - 1]


def test_star_runs_its_loops_picks_the_best_and_resumes(tiny, tmp_path):
    _, tok, path = tiny
    rec = Recorder([0.3, 0.6, 0.5])
    out = star(load_model(path), tok, ROWS, sample=rec.sample, is_correct=rec.is_correct,
               finetune=rec.finetune, validate=rec.validate, output_dir=tmp_path, outer_loops=2,
               load=load_model, progress=False)
    assert rec.finetuned == [(1, 3), (2, 3)]  # one correct reply of two, for three questions
    assert [h["validation_accuracy"] for h in out["history"]] == [0.3, 0.6, 0.5]
    assert out["best_loop"] == 1 and out["model"].lm_head.weight[0, 0].item() == 1.0
    assert out["history"][1]["train_sample_accuracy"] == 0.5
    # killed during loop 2: its checkpoint is gone; a resumed run redoes loop 2 only
    shutil.rmtree(tmp_path / "loop-2")
    again = Recorder([0.9])
    out = star(load_model(path), tok, ROWS, sample=again.sample, is_correct=again.is_correct,
               finetune=again.finetune, validate=again.validate, output_dir=tmp_path,
               outer_loops=2, load=load_model, resume=True, progress=False)
    assert again.finetuned == [(2, 3)]
    assert [h["loop"] for h in out["history"]] == [0, 1, 2] and out["best_loop"] == 2
