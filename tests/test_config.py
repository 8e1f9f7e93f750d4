import pytest

from reason_lib import config
from reason_lib.config import ParamError, load_params
from reason_lib.experiments.base_model.params import BaseModelParams


def test_cpu_profile_loads_with_defaults():
    p = load_params("base_model", "cpu")
    assert isinstance(p, BaseModelParams)
    assert p.save_to == "outputs/models/base-cpu-seed0"


def test_every_params_file_validates():
    for exp in config.EXPERIMENTS:
        for path in (config.PARAMS_DIR / exp).glob("*.yaml"):
            try:
                load_params(exp, path.stem)
            except ParamError as e:  # only a path to data that is absent here may fail
                assert "file not found" in str(e), e


def test_every_grid_file_validates_on_the_cpu_profile():
    from reason_lib.cli import load_grid

    for exp in config.EXPERIMENTS:
        for path in (config.PARAMS_DIR / exp / "grids").glob("*.yaml"):
            assert load_grid(str(path.relative_to(config.PROJ_ROOT)), exp, "cpu", {})


def test_overrides_are_typed_and_applied():
    p = load_params("base_model", "cpu", {"seed": 3, "epochs": 1, "train": False})
    assert (p.seed, p.epochs, p.train) == (3, 1, False)


@pytest.mark.parametrize("overrides, words", [
    ({"sede": 1}, ["'sede'", "unknown parameter"]),
    ({"seed": "one"}, ["'seed'", "'one'", "expected int"]),
    ({"seed": True}, ["'seed'", "expected int"]),
    ({"yoruba_share": 1.5}, ["'yoruba_share'", "1.5", "<= 1.0"]),
    ({"device": "tpu"}, ["'device'", "'tpu'", "one of"]),
    ({"real_gsm8k_test": "data/nowhere.jsonl"}, ["'real_gsm8k_test'", "file not found"]),
])
def test_bad_values_name_key_value_and_file(overrides, words):
    with pytest.raises(ParamError) as e:
        load_params("base_model", "cpu", overrides)
    message = str(e.value)
    assert "params/base_model/cpu.yaml" in message
    for w in words:
        assert w in message
    assert "\n" not in message


def test_bad_yaml_key_names_the_file(tmp_path, monkeypatch):
    (tmp_path / "base_model").mkdir()
    (tmp_path / "base_model" / "bad.yaml").write_text("hidden_size: -4\n")
    monkeypatch.setattr(config, "PARAMS_DIR", tmp_path)
    monkeypatch.setattr(config, "PROJ_ROOT", tmp_path.parent)
    with pytest.raises(ParamError, match=r"bad\.yaml: key 'hidden_size' \(value -4\): must be >= 16"):
        load_params("base_model", "bad")


def test_missing_profile_and_experiment():
    with pytest.raises(ParamError, match="params/base_model/nope.yaml: parameter file not found"):
        load_params("base_model", "nope")
    with pytest.raises(ParamError, match="unknown experiment"):
        load_params("no_such_thing")


def test_paths_resolve_under_roots(monkeypatch, tmp_path):
    monkeypatch.setenv("REASON_LIB_OUTPUTS", str(tmp_path / "out"))
    monkeypatch.setenv("REASON_LIB_DATA", str(tmp_path / "data"))
    assert config.resolve_path("outputs/models/x") == tmp_path / "out" / "models" / "x"
    assert config.resolve_path("$REASON_LIB_DATA/gsm8k/test.jsonl") == tmp_path / "data" / "gsm8k" / "test.jsonl"
    assert config.resolve_path("params") == config.PROJ_ROOT / "params"
    assert config.resolve_source("HuggingFaceTB/SmolLM2-135M-Instruct") == "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_parse_override():
    assert config.parse_override("3") == 3
    assert config.parse_override("true") is True
    assert config.parse_override("0.5") == 0.5
    assert config.parse_override("a/b.jsonl") == "a/b.jsonl"


def test_overrides_and_files_read_exponent_floats():
    assert config.parse_override("3e-4") == pytest.approx(3e-4)
    assert config.parse_override("1.5E3") == 1500.0 and config.parse_override("7") == 7
    assert config.read_yaml("lr: 1e-3\nname: e5") == {"lr": 0.001, "name": "e5"}
    params = config.load_params("perplexity_grpo", "cpu", {"learning_rate": config.parse_override("2e-5")})
    assert params.learning_rate == pytest.approx(2e-5)


def test_a_seed_in_a_path_makes_one_path_per_seed_and_test_items_stay_with_data_seed():
    p = load_params("pause_warmup", "cpu", {"seed": 3})
    assert p.model == "outputs/models/base-cpu-seed3" and p.data_seed == 0
    assert load_params("base_model", "cpu", {"seed": 3}).save_to == "outputs/models/base-cpu-seed3"
    assert load_params("reinforce_rm", "cpu").base_model == "outputs/models/base-cpu-seed0"
    # a pretrained model is shared by every seed: it is read, never written
    assert load_params("pause_warmup", "smol", {"seed": 3}).model.endswith("smollm2-135m-instruct")


def test_seed_free_params_of_two_seeds_are_equal():
    from reason_lib.config import seed_free, to_dict

    a, b = (to_dict(load_params("pause_warmup", "cpu", {"seed": s})) for s in (1, 12))
    assert seed_free(a) == seed_free(b) and "seed" not in seed_free(a)
    assert seed_free(a)["model"] == "outputs/models/base-cpu-seed{seed}"
    c = to_dict(load_params("pause_warmup", "cpu", {"seed": 1, "data_seed": 5}))
    assert seed_free(c) != seed_free(a)  # other test items: another configuration


@pytest.mark.parametrize("override, words", [
    ({"k": 1}, ["reinforce.k = 1", "must be >= 2"]),
    ({"steps": 0}, ["reinforce.steps = 0", "must be >= 1"]),
    ({"steps": 2.7}, ["reinforce.steps = 2.7", "expected int"]),
    ({"prompts_per_step": 0.5}, ["prompts_per_step = 0.5", "expected int"]),
    ({"temperature": 0}, ["reinforce.temperature = 0", "must be >= 0.01"]),
    ({"prompts_per_step": 5000}, ["method 'reinforce'", "more than the n_train 3000"]),
])
def test_method_overrides_are_checked_like_the_parameters_they_override(override, words):
    """Each value as strictly as its top-level parameter, at load time: not rounded (2.7 steps),
    not found out at the first policy step after SFT and reward-model training (temperature 0)."""
    with pytest.raises(ParamError) as e:
        load_params("reinforce_rm", "cpu", {"method_overrides": {"reinforce": override}})
    for w in words:
        assert w in str(e.value)
    with pytest.raises(ParamError, match=r"level_overrides' \(2.k = 1\).*must be >= 2"):
        load_params("reinforce_rm", "cpu", {"level_overrides": {2: {"k": 1}}})


def test_a_key_given_twice_names_both_lines(tmp_path, monkeypatch):
    (tmp_path / "base_model").mkdir()
    (tmp_path / "base_model" / "twice.yaml").write_text("epochs: 2.0\nseed: 1\nepochs: 3.0\n")
    monkeypatch.setattr(config, "PARAMS_DIR", tmp_path)
    monkeypatch.setattr(config, "PROJ_ROOT", tmp_path.parent)
    with pytest.raises(ParamError, match=r"twice\.yaml: not valid YAML: key 'epochs' given twice "
                                         r"\(line 1 and line 3\)"):
        load_params("base_model", "twice")


def test_a_batch_larger_than_the_data_is_refused():
    """In the units each experiment's batch counts: warm-up rows, preference pairs, or GRPO's
    completions (num_generations per prompt)."""
    with pytest.raises(ParamError, match=r"key 'batch_size' \(value 64\): larger than the data "
                                         r"\(n_train x n_generated_samples_per_datapoint warm-up "
                                         r"rows: 32\)"):
        load_params("pause_star", "cpu", {"n_train": 32, "batch_size": 64})
    with pytest.raises(ParamError, match=r"\(n_train preference pairs: 20\)"):
        load_params("reinforce_rm", "cpu", {"n_train": 20})
    with pytest.raises(ParamError, match=r"value 4\): larger than the data \(n_train prompts"):
        load_params("perplexity_grpo", "cpu", {"n_train": 3})  # 32 completions: 4 prompts
    assert load_params("perplexity_grpo", "cpu", {"n_train": 4}).n_train == 4
