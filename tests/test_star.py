"""reason_lib.train.star: filtering, pairs, the outer loop, best-loop choice and resume."""

import shutil

import pytest
import torch

from reason_lib.models import load_model
from reason_lib.train.star import correct_rows, loops_to_test, preference_pairs, ranked, star
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


def test_only_the_best_and_the_last_loop_keep_a_model_on_disk(tiny, tmp_path):
    _, tok, path = tiny
    rec = Recorder([0.3, 0.6, 0.5, 0.4])
    out = star(load_model(path), tok, ROWS, sample=rec.sample, is_correct=rec.is_correct,
               finetune=rec.finetune, validate=rec.validate, output_dir=tmp_path, outer_loops=3,
               load=load_model, reload_start=lambda: load_model(path), progress=False, tested=1)
    assert out["tested_loops"] == [1, 3]
    has_model = {p.name: (p / "model.safetensors").is_file() for p in tmp_path.glob("loop-*")}
    assert has_model == {"loop-0": False, "loop-1": True, "loop-2": False, "loop-3": True}
    assert all((tmp_path / f"loop-{i}" / "metrics.json").is_file() for i in range(4))
    assert out["best_loop"] == 1 and out["model"].lm_head.weight[0, 0].item() == 1.0
    # the starting model stays the best: it comes back from where it was loaded
    rec = Recorder([0.9, 0.1])
    out = star(load_model(path), tok, ROWS, sample=rec.sample, is_correct=rec.is_correct,
               finetune=rec.finetune, validate=rec.validate, output_dir=tmp_path / "again",
               outer_loops=1, load=load_model, reload_start=lambda: load_model(path),
               progress=False)
    assert out["best_loop"] == 0 and torch.equal(out["model"].lm_head.weight,
                                                 load_model(path).lm_head.weight)


def test_loops_another_validation_ranks_best_keep_their_model_too(tiny, tmp_path):
    """`also_ranked_by`: a twin judged by another entry of the validation dict keeps the models
    of its own best loops on disk, beside the run's own best and last."""
    _, tok, path = tiny
    rec = Recorder([0.3, 0.6, 0.5, 0.4])
    yo = iter([0.1, 0.2, 0.9, 0.3])

    def validate(model):
        return {"accuracy": rec.validate(model), "yo": {"value": next(yo)}}

    out = star(load_model(path), tok, ROWS, sample=rec.sample, is_correct=rec.is_correct,
               finetune=rec.finetune, validate=validate, output_dir=tmp_path, outer_loops=3,
               load=load_model, reload_start=lambda: load_model(path), progress=False, tested=1,
               also_ranked_by=("yo",))
    assert out["best_loop"] == 1 and ranked(out["history"], "yo")[0]["loop"] == 2
    assert loops_to_test(out["history"], 1, "yo") == [2, 3]
    has_model = {p.name: (p / "model.safetensors").is_file() for p in tmp_path.glob("loop-*")}
    # loop 2 is neither the run's best nor its last, but the twin's best: kept
    assert has_model == {"loop-0": False, "loop-1": True, "loop-2": True, "loop-3": True}
    assert out["load"](2).lm_head.weight[0, 0].item() == 2.0


def coin_sampler(train_rows: list[dict], calls: list | None = None):
    """A stand-in for `sample_groups`: each reply right or wrong by a draw of torch's generator
    (so runs that draw alike get alike rollouts); `calls` collects each call's prompt count."""
    from reason_lib.data.mmlu import mc_target

    rows = {r["Question"]: r for r in train_rows}

    def sample_groups(model, tokenizer, prompts, k, **kwargs):
        if calls is not None:
            calls.append(len(prompts))
        out = []
        for p in prompts:
            row = next(r for q, r in rows.items() if p[-1]["content"].startswith(q))
            wrong = {**row, "Answer": "B" if row["Answer"] == "A" else "A"}
            out.append([mc_target(row if torch.rand(1).item() < 0.5 else wrong) for _ in range(k)])
        return out
    return sample_groups


def test_twins_share_one_star_run_and_get_what_each_gets_alone(tiny, tmp_path, monkeypatch):
    """english and translate_en_yo train the same models: run together (one STaR run, its
    checkpoints under english/), translate_en_yo gets the loops, rollouts, validation, best loop
    and weights it gets alone."""
    from dataclasses import replace

    import reason_lib.train.star_tasks as star_tasks
    from reason_lib.data import mmlu_splits
    from reason_lib.experiments.star_mmlu.params import StarMMLUParams

    _, tok, path = tiny
    data = mmlu_splits(8, 6, 4, seed=0)
    monkeypatch.setattr(star_tasks, "sample_groups", coin_sampler(data["train"]["en"]))
    params = StarMMLUParams(runs=["english", "translate_en_yo"], samples_per_question=2,
                            outer_loops=2, max_new_tokens=24, eval_batch_size=8, batch_size=4,
                            learning_rate=1e-2, max_length=256, other_language=False)

    def runs(p, folder):
        return dict(star_tasks.star_mmlu_runs(p, data, lambda f=None: load_model(f or path), tok,
                                              tmp_path / folder, progress=False))

    together = runs(params, "together")
    alone = runs(replace(params, runs=["translate_en_yo"]), "alone")["translate_en_yo"]
    twin = together["translate_en_yo"]
    assert twin["trained_with"] == together["english"]["trained_with"] == "english"
    assert not (tmp_path / "together" / "translate_en_yo").exists() and twin["model"] is None
    assert sorted(together["english"]["history"][1]["validation"]) == ["en", "yo"]
    assert sorted(alone["history"][1]["validation"]) == ["yo"]
    for key in ("validation_accuracy", "rollouts", "kept"):
        assert [h.get(key) for h in twin["history"]] == [h.get(key) for h in alone["history"]]
    assert (twin["best_loop"], twin["tested_loops"]) == (alone["best_loop"], alone["tested_loops"])
    assert twin["history"][2]["rollouts"]["k"] > 0  # loop 2 trained on something
    shared, own = twin["load"](2).state_dict(), alone["load"](2).state_dict()
    assert all(torch.equal(shared[k], own[k]) for k in own)
    assert not torch.equal(own["lm_head.weight"], load_model(path).state_dict()["lm_head.weight"])


def test_runs_in_one_language_share_the_start_models_validation_and_first_rollouts(
        tiny, tmp_path, monkeypatch):
    """yoruba and yoruba_dpo start from the same model under the same seed: run together, the
    second takes the first's loop-0 validation and loop-1 rollouts (sampled once) with torch's
    generator state after them (what it draws next follows on as if it had sampled), and gets
    the history and weights it gets alone."""
    from dataclasses import replace

    import reason_lib.train.star_tasks as star_tasks
    from reason_lib.data import mmlu_splits
    from reason_lib.experiments.star_mmlu.params import StarMMLUParams

    _, tok, path = tiny
    data = mmlu_splits(8, 6, 4, seed=0)
    calls = []
    monkeypatch.setattr(star_tasks, "sample_groups", coin_sampler(data["train"]["yo"], calls))
    params = StarMMLUParams(runs=["yoruba", "yoruba_dpo"], samples_per_question=2, outer_loops=2,
                            max_new_tokens=24, eval_batch_size=8, batch_size=4, learning_rate=1e-2,
                            dpo_learning_rate=1e-2, max_length=256, other_language=False)

    def runs(p, folder):
        return dict(star_tasks.star_mmlu_runs(p, data, lambda f=None: load_model(f or path), tok,
                                              tmp_path / folder, progress=False))

    together = runs(params, "together")
    assert len(calls) == 3  # yoruba's two loops, yoruba_dpo's second: its first is yoruba's
    alone = runs(replace(params, runs=["yoruba_dpo"]), "alone")["yoruba_dpo"]
    shared = together["yoruba_dpo"]
    for key in ("validation_accuracy", "validation", "rollouts", "kept"):
        assert [h.get(key) for h in shared["history"]] == [h.get(key) for h in alone["history"]]
    assert shared["history"][1]["rollouts"] == together["yoruba"]["history"][1]["rollouts"]
    assert shared["best_loop"] == alone["best_loop"]
    for loop in (1, 2):
        mine, own = shared["load"](loop).state_dict(), alone["load"](loop).state_dict()
        assert all(torch.equal(mine[k], own[k]) for k in own)
    assert not torch.equal(own["lm_head.weight"], load_model(path).state_dict()["lm_head.weight"])
    # the generator continues after a shared draw as after one's own
    firsts = {}
    first, second = (star_tasks.MultipleChoiceSTaR(n, params, data, None, tok, tmp_path / n,
                                                   progress=False, firsts=firsts)
                     for n in ("yoruba", "yoruba_dpo"))
    drawn = []
    for task in (first, second):
        task.fresh = True
        torch.manual_seed(7)
        drawn.append((task._first("sample", (), lambda: torch.rand(3)), torch.rand(1)))
    assert torch.equal(drawn[0][0], drawn[1][0]) and torch.equal(drawn[0][1], drawn[1][1])


def _reply_nll(model, tok, rows, replies):
    """Mean per-token NLL of each reply given its multiple-choice prompt (chat template)."""
    from reason_lib.data.mmlu import mc_prompt
    from reason_lib.generate import render_prompts

    total = 0.0
    for row, reply in zip(rows, replies):
        prompt = render_prompts(tok, [mc_prompt(row)])[0]
        p = tok(prompt, add_special_tokens=False)["input_ids"]
        ids = tok(prompt + reply, add_special_tokens=False, return_tensors="pt")["input_ids"]
        labels = ids.clone()
        labels[:, :len(p)] = -100
        with torch.no_grad():
            total += model(input_ids=ids, labels=labels).loss.item()
    return total / len(rows)


def test_single_batch_mode_fits_its_batch(tiny, tmp_path, monkeypatch):
    """Sanity mode (`single_batch`): many epochs on one batch's correct rationales must fit them.
    An untrained model writes no correct rationale, so the sampler returns the reference reply
    (correct) beside a wrong-letter one; everything else is the real STaR-MMLU path."""
    import reason_lib.train.star_tasks as star_tasks
    from reason_lib.experiments.star_mmlu.params import StarMMLUParams
    from reason_lib.data import mmlu_splits
    from reason_lib.data.mmlu import mc_target

    _, tok, path = tiny
    batch = mmlu_splits(4, 1, 1, seed=0)["train"]["en"][:4]

    def sample_groups(model, tokenizer, prompts, k, **kwargs):
        rows = [next(r for r in batch if p[-1]["content"].startswith(r["Question"])) for p in prompts]
        return [[mc_target(r)] + [mc_target({**r, "Answer": "B" if r["Answer"] == "A" else "A"})]
                * (k - 1) for r in rows]

    monkeypatch.setattr(star_tasks, "sample_groups", sample_groups)
    params = StarMMLUParams(single_batch=True, batch_size=4, samples_per_question=2,
                            single_batch_epochs=60.0, outer_loops=1, learning_rate=1e-2,
                            max_new_tokens=8, eval_batch_size=4, max_length=256)
    data = {split: {"en": batch, "yo": batch} for split in ("train", "validation", "test")}
    targets = [mc_target(r) for r in batch]
    before = _reply_nll(load_model(path), tok, batch, targets)
    out = star_tasks.star_mmlu_run("english", params, data, lambda p=None: load_model(p or path),
                                   tok, tmp_path, progress=False)
    assert out["history"][1]["kept"] == 4  # the correct reply of each question, not the wrong one
    after = _reply_nll(load_model(tmp_path / "loop-1"), tok, batch, targets)
    assert after < 0.3 * before, (before, after)


@pytest.mark.parametrize("sample_batch_size, prompts_per_call", [(0, 6), (8, 2)])
def test_a_sampling_call_holds_sample_batch_size_sequences(tiny, tmp_path, monkeypatch,
                                                          sample_batch_size, prompts_per_call):
    import reason_lib.train.star_tasks as star_tasks
    from reason_lib.experiments.star_mmlu.params import StarMMLUParams
    from reason_lib.data import mmlu_splits

    _, tok, path = tiny
    batch = mmlu_splits(4, 1, 1, seed=0)["train"]["en"][:4]
    calls = []

    def sample_groups(model, tokenizer, prompts, k, batch_size, **kwargs):
        calls.append((k, batch_size))
        return [["A"] * k for _ in prompts]

    monkeypatch.setattr(star_tasks, "sample_groups", sample_groups)
    params = StarMMLUParams(samples_per_question=4, sample_batch_size=sample_batch_size,
                            eval_batch_size=6, outer_loops=1, max_new_tokens=4)
    data = {split: {"en": batch} for split in ("train", "validation", "test")}
    star_tasks.star_mmlu_run("english", params, data, lambda p=None: load_model(p or path), tok,
                             tmp_path, progress=False)
    assert calls == [(4, prompts_per_call)]


@pytest.mark.parametrize("other_language, validated", [(True, ["en", "yo"]), (False, ["yo"])])
def test_other_language_off_validates_in_the_evaluation_language_alone(tiny, tmp_path, monkeypatch,
                                                                      other_language, validated):
    """translate_en_yo trains on English and is judged in Yoruba: with `other_language` off each
    loop (the start model's included) is validated in Yoruba alone, with it on in both."""
    import reason_lib.train.star_tasks as star_tasks
    from reason_lib.experiments.star_mmlu.params import StarMMLUParams
    from reason_lib.data import mmlu_splits

    _, tok, path = tiny
    split = mmlu_splits(4, 2, 2, seed=0)
    calls = []

    def evaluate_choice(model, tokenizer, rows, lang, **kwargs):
        calls.append(lang)
        return {"accuracy": {"value": 0.5}}, []

    monkeypatch.setattr(star_tasks, "sample_groups", lambda m, t, prompts, k, **kw:
                        [["Answer: Z"] * k for _ in prompts])  # nothing kept: no training
    monkeypatch.setattr(star_tasks, "evaluate_choice", evaluate_choice)
    params = StarMMLUParams(samples_per_question=1, outer_loops=2, max_new_tokens=4,
                            eval_batch_size=4, other_language=other_language)
    out = star_tasks.star_mmlu_run("translate_en_yo", params, split,
                                   lambda p=None: load_model(p or path), tok, tmp_path,
                                   progress=False)
    assert calls == validated * 3  # loops 0, 1 and 2
    assert sorted(out["history"][2]["validation"]) == validated


def test_a_lora_star_loop_is_saved_as_its_adapters_and_reloads_exactly(tiny, tmp_path,
                                                                       monkeypatch):
    """With LoRA each loop's checkpoint holds the adapters it trained, on top of the loop before
    (no merged copy); loading the last loop replays both merges and equals the model in memory."""
    import json

    import reason_lib.train.star_tasks as star_tasks
    from reason_lib.experiments.star_mmlu.params import StarMMLUParams
    from reason_lib.data import mmlu_splits
    from reason_lib.data.mmlu import mc_target

    _, tok, path = tiny
    batch = mmlu_splits(4, 1, 1, seed=0)["train"]["en"][:4]

    def sample_groups(model, tokenizer, prompts, k, **kwargs):
        rows = [next(r for r in batch if p[-1]["content"].startswith(r["Question"])) for p in prompts]
        return [[mc_target(r)] * k for r in rows]

    scores = iter([0.1, 0.2, 0.3])  # each loop validates better: the last loop is the result

    def evaluate_choice(*args, **kwargs):
        return {"accuracy": {"value": next(scores)}}, []

    monkeypatch.setattr(star_tasks, "sample_groups", sample_groups)
    monkeypatch.setattr(star_tasks, "evaluate_choice", evaluate_choice)
    params = StarMMLUParams(lora=True, lora_r=2, batch_size=4, samples_per_question=1,
                            outer_loops=2, epochs=2.0, learning_rate=1e-2, max_new_tokens=4,
                            eval_batch_size=4, max_length=256)
    data = {split: {"en": batch} for split in ("train", "validation", "test")}
    out = star_tasks.star_mmlu_run("english", params, data, lambda p=None: load_model(p or path),
                                   tok, tmp_path, progress=False)
    assert out["best_loop"] == 2
    for loop, parent in ((1, str(path.resolve())), (2, str((tmp_path / "loop-1").resolve()))):
        folder = tmp_path / f"loop-{loop}"
        entry = json.loads((folder / "delta.json").read_text())
        assert entry["adapters"] == ["adapter-0"] and not (folder / "model.safetensors").exists()
        assert str((folder / entry["parent"]).resolve()) == parent
    loaded = load_model(tmp_path / "loop-2").state_dict()
    trained = out["model"].state_dict()
    assert loaded.keys() == trained.keys()
    assert all(torch.equal(loaded[k], trained[k]) for k in trained)
    assert not torch.equal(trained["model.layers.0.self_attn.q_proj.weight"],
                           load_model(path).state_dict()["model.layers.0.self_attn.q_proj.weight"])


def test_a_finished_run_extended_continues_at_the_next_loop_earlier_loops_untouched(tiny, tmp_path):
    _, tok, path = tiny
    first = Recorder([0.3, 0.6])
    star(load_model(path), tok, ROWS, sample=first.sample, is_correct=first.is_correct,
         finetune=first.finetune, validate=first.validate, output_dir=tmp_path, outer_loops=1,
         load=load_model, progress=False)
    before = {p.relative_to(tmp_path): (p.read_bytes(), p.stat().st_mtime_ns)
              for p in tmp_path.rglob("*") if p.is_file()}
    more = Recorder([0.7, 0.4])
    out = star(load_model(path), tok, ROWS, sample=more.sample, is_correct=more.is_correct,
               finetune=more.finetune, validate=more.validate, output_dir=tmp_path,
               outer_loops=3, load=load_model, resume=True, progress=False)
    assert more.finetuned == [(2, 3), (3, 3)]  # loops 2 and 3 only, from loop 1's model
    assert [h["validation_accuracy"] for h in out["history"]] == [0.3, 0.6, 0.7, 0.4]
    assert out["best_loop"] == 2
    # loop 0's and loop 1's records as they were; loop 1's model too (still among the 3 best),
    # loop 0's pruned as any loop's that falls out of them
    for rel, stamp in before.items():
        path = tmp_path / rel
        if rel.name in ("metrics.json", "samples.jsonl") or rel.parts[0] == "loop-1":
            assert (path.read_bytes(), path.stat().st_mtime_ns) == stamp, rel
    assert (tmp_path / "loop-1" / "model.safetensors").is_file()
    assert not (tmp_path / "loop-0" / "model.safetensors").exists()
    assert out["tested_loops"] == [1, 2, 3]


def test_the_three_best_loops_and_the_last_are_kept_for_testing(tiny, tmp_path):
    """The pause study tests the 3 best checkpoints by validation accuracy plus the last."""
    _, tok, path = tiny
    rec = Recorder([0.1, 0.5, 0.7, 0.2, 0.6, 0.3])
    out = star(load_model(path), tok, ROWS, sample=rec.sample, is_correct=rec.is_correct,
               finetune=rec.finetune, validate=rec.validate, output_dir=tmp_path, outer_loops=5,
               load=load_model, reload_start=lambda: load_model(path), progress=False)
    assert out["tested_loops"] == [1, 2, 4, 5] and out["best_loop"] == 2
    has_model = {int(p.name.split("-")[1]): (p / "model.safetensors").is_file()
                 for p in tmp_path.glob("loop-*")}
    assert has_model == {0: False, 1: True, 2: True, 3: False, 4: True, 5: True}
    for loop in out["tested_loops"]:  # each comes back as the model that loop made
        assert out["load"](loop).lm_head.weight[0, 0].item() == float(loop)


def test_the_overfit_check_passes_only_when_every_run_fits_its_batch():
    from reason_lib.train.star_tasks import overfit_check

    ok = overfit_check({"english": 1.0, "yoruba": 0.9}, 0.9)
    assert ok["passed"] and ok["runs"]["yoruba"] == {"accuracy": 0.9, "passed": True}
    bad = overfit_check({"english": 1.0, "yoruba": 0.5}, 0.9)
    assert not bad["passed"] and not bad["runs"]["yoruba"]["passed"] and bad["runs"]["english"]["passed"]


@pytest.mark.parametrize("name, trainer", [("english", "sft"), ("english_dpo", "dpo")])
def test_the_learning_rate_warmup_reaches_the_trainer(tiny, tmp_path, monkeypatch, name, trainer):
    import reason_lib.train.star_tasks as star_tasks
    from reason_lib.experiments.star_mmlu.params import StarMMLUParams
    from reason_lib.data import mmlu_splits

    _, tok, path = tiny
    batch = mmlu_splits(4, 1, 1, seed=0)["train"]["en"][:4]
    seen = {}

    def fake(model, tokenizer, rows, output_dir, **kwargs):
        seen.update(kwargs)
        return model, []

    monkeypatch.setattr(star_tasks, trainer, fake)
    monkeypatch.setattr(star_tasks, "sample_groups",
                        lambda model, tokenizer, prompts, k, **kw: [["Answer: A", "Answer: B"]] * len(prompts))
    params = StarMMLUParams(samples_per_question=2, outer_loops=1, max_new_tokens=4,
                            eval_batch_size=4, warmup_ratio=0.0)
    data = {split: {"en": batch} for split in ("train", "validation", "test")}
    star_tasks.star_mmlu_run(name, params, data, lambda p=None: load_model(p or path), tok,
                             tmp_path, progress=False)
    assert seen[{"sft": "warmup_ratio", "dpo": "warmup_steps"}[trainer]] == 0.0


def test_each_loop_keeps_its_validation_predictions(tiny, tmp_path):
    import json

    _, tok, path = tiny
    rec = Recorder([0.5, 0.75])

    def validate(model):
        acc = rec.validate(model)
        return {"accuracy": acc, "records": [{"question": f"q{i}", "correct": i < 4 * acc}
                                             for i in range(4)]}

    out = star(load_model(path), tok, ROWS, sample=rec.sample, is_correct=rec.is_correct,
               finetune=rec.finetune, validate=validate, output_dir=tmp_path, outer_loops=1,
               load=load_model, reload_start=lambda: load_model(path), progress=False)
    for loop, n_correct in ((0, 2), (1, 3)):
        lines = (tmp_path / f"loop-{loop}" / "validation.jsonl").read_text().splitlines()
        assert sum(json.loads(x)["correct"] for x in lines) == n_correct and len(lines) == 4
    assert "records" not in out["history"][1]["validation"]  # predictions on disk, not in metrics


def test_a_resumed_star_run_draws_what_the_uninterrupted_one_drew(tiny, tmp_path):
    """Rollouts draw from torch's generator; a run resumed after loop 1 once consumed other
    random numbers (loading) and sampled different replies in loops 2 and 3. Each loop now
    seeds the generator from (seed, loop)."""
    import torch

    _, tok, path = tiny

    def run(folder, loops, resume=False, noise_first=False):
        drawn = []

        def sample(model, rows):
            replies = [[f"{torch.rand(1).item():.6f}"] for _ in rows]
            drawn.append(replies)
            return replies

        if noise_first:
            torch.rand(17)  # a resumed process has drawn other numbers before its loops
        star(load_model(path), tok, ROWS, sample=sample, is_correct=lambda r, x: True,
             finetune=lambda m, *a: m, validate=lambda m: {"accuracy": 0.5},
             output_dir=folder, outer_loops=loops, load=load_model, resume=resume,
             progress=False, seed=3)
        return drawn

    straight = run(tmp_path / "a", 3)
    first = run(tmp_path / "b", 1)
    rest = run(tmp_path / "b", 3, resume=True, noise_first=True)
    assert first + rest == straight
    assert run(tmp_path / "c", 1)[0] == straight[0]


def test_a_pause_warmup_trains_its_setting_once_and_a_resumed_run_keeps_it(tiny, tmp_path):
    """Pause STaR's warm-up (notebook 02): with pauses the pause parts train on pause-augmented
    answers; without, they stay frozen (a plain LM fine-tune); a folder holding a finished
    warm-up is kept as it is, so a resumed run does not train it again."""
    import copy

    from reason_lib import config
    from reason_lib.data import gsm8k_splits
    from reason_lib.models.pause_lm import PauseLM, add_pause_token
    from reason_lib.train.star_tasks import pause_loader, pause_warmup

    _, tok, path = tiny
    tok = copy.deepcopy(tok)
    pause_id = add_pause_token(tok)
    params = config.load_params("pause_star", "ci", {"lora": True})
    rows = gsm8k_splits(16, 1, 1, seed=0)["train"]
    start = PauseLM.from_pretrained(str(path), pause_token_id=pause_id)
    for pauses in (True, False):
        folder = pause_warmup(params, str(path), pause_id, tok, rows, pauses, tmp_path)
        assert folder == tmp_path / f"warmup-{'pause' if pauses else 'no_pause'}"
        warm = pause_loader(params, folder, pauses)()
        moved = not torch.equal(warm.pause_embedding.detach(), start.pause_embedding.detach())
        assert moved == pauses and warm.pause_embedding.requires_grad == pauses
        saved = (folder / "pause.safetensors").stat().st_mtime_ns
        assert pause_warmup(params, str(path), pause_id, tok, rows, pauses, tmp_path) == folder
        assert (folder / "pause.safetensors").stat().st_mtime_ns == saved


def test_a_pause_warmup_of_zero_epochs_is_the_start_model_untouched(tiny, tmp_path, monkeypatch):
    """`warmup_epochs: 0` (STaR from the start model with no gold rationale seen in the warm-up):
    nothing trains (0 epochs used to run one optimiser step on the gold answers) and the warm-up
    folder holds the start model as it was; 1 epoch trains and moves it."""
    import copy

    from reason_lib import config
    from reason_lib.data import gsm8k_splits
    from reason_lib.models.pause_lm import PauseLM, add_pause_token
    from reason_lib.train import star_tasks
    from reason_lib.train.star_tasks import pause_loader, pause_warmup

    _, tok, path = tiny
    tok = copy.deepcopy(tok)
    pause_id = add_pause_token(tok)
    rows = gsm8k_splits(16, 1, 1, seed=0)["train"]
    ids = torch.tensor([tok("Kemi has 5 pencils.")["input_ids"]])
    start = PauseLM.from_pretrained(str(path), pause_token_id=pause_id).eval()
    with torch.no_grad():
        expected = start(ids)[0]
    trained = []
    train = star_tasks.train_pause_lm
    monkeypatch.setattr(star_tasks, "train_pause_lm",
                        lambda *a, **k: (trained.append(k["epochs"]), train(*a, **k))[1])
    for epochs, same in ((0.0, True), (1.0, False)):
        params = config.load_params("pause_star", "ci", {"lora": True, "warmup_epochs": epochs,
                                                         "learning_rate": 0.01})
        folder = pause_warmup(params, str(path), pause_id, tok, rows, False, tmp_path / str(epochs))
        warm = pause_loader(params, folder, False)().eval()
        with torch.no_grad():
            assert torch.allclose(warm(ids)[0], expected) == same
    assert trained == [1.0]
