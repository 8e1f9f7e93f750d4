"""Typed, validated parameters loaded from `params/<name>/<profile>.yaml`: the paths, the registry of
experiments (each one's dataclass in `reason_lib/experiments/<name>/params.py`, its fields from
`reason_lib.fields`) and the loading.

All paths derive from PROJ_ROOT (or a parameter / environment variable). A bad key, type, range or
missing file raises one ParamError naming the key, the value and the file, before any heavy work.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import yaml

from reason_lib.experiments.base_model import params as base_model
from reason_lib.experiments.evaluate import params as evaluate
from reason_lib.experiments.pause_star import params as pause_star
from reason_lib.experiments.pause_warmup import params as pause_warmup
from reason_lib.experiments.perplexity_grpo import params as perplexity_grpo
from reason_lib.experiments.reinforce_rm import params as reinforce_rm
from reason_lib.experiments.star_mmlu import params as star_mmlu
from reason_lib.experiments.summary import params as summary
from reason_lib.fields import Experiment, ParamError, check_field

PROJ_ROOT = Path(__file__).resolve().parents[1]
PARAMS_DIR = PROJ_ROOT / "params"
NOTEBOOKS_DIR = PROJ_ROOT / "notebooks"


def outputs_root() -> Path:
    """Where runs and models go: `$REASON_LIB_OUTPUTS` if set (tests use a temp dir), else outputs/."""
    return Path(os.environ.get("REASON_LIB_OUTPUTS", PROJ_ROOT / "outputs"))


def data_root() -> Path:
    """The real data folder: `$REASON_LIB_DATA` if set, else `../shared/data` beside the checkout."""
    return Path(os.environ.get("REASON_LIB_DATA", PROJ_ROOT.parent / "shared" / "data"))


def resolve_path(value: str) -> Path:
    """`$REASON_LIB_DATA/...` and `$VAR` expand; `outputs/...` goes under the outputs root;
    other relative paths are relative to the project root."""
    os.environ.setdefault("REASON_LIB_DATA", str(data_root()))
    value = os.path.expanduser(os.path.expandvars(value))
    if value.startswith("outputs/"):
        return outputs_root() / value[len("outputs/"):]
    path = Path(value)
    return path if path.is_absolute() else PROJ_ROOT / path


FILE_SUFFIXES = (".jsonl", ".json", ".csv", ".gz", ".parquet", ".txt")


def is_local(path_or_id: str) -> bool:
    """True when the string names a local file (it exists, or looks like a path, not a Hub id)."""
    return os.path.exists(path_or_id) or path_or_id.endswith(FILE_SUFFIXES) or \
        path_or_id.startswith((".", "/", "~"))


def hub_mirror(repo_id: str) -> Path | None:
    """`$REASON_LIB_HUB_MIRROR/<owner>/<name>/` when that folder exists: a pre-fetched copy of a
    Hub repo in the repo's own layout (a dataset's README `configs:` block and data files, or a
    model's `save_pretrained` files), for machines such as cluster compute nodes with no internet."""
    mirror = os.environ.get("REASON_LIB_HUB_MIRROR", "")
    if not mirror or repo_id.count("/") != 1 or repo_id.startswith((".", "/", "~", "$")):
        return None
    folder = Path(mirror).expanduser() / repo_id
    return folder if folder.is_dir() else None


def resolve_source(value: str) -> str:
    """A model or dataset source: the local path when `value` resolves to one, else the Hub id's
    copy in the mirror (`hub_mirror`) when there is one, else `value` itself (a Hub id such as
    `HuggingFaceTB/SmolLM2-135M-Instruct`, read from the network or the standard Hub cache)."""
    path = resolve_path(value)
    if path.exists():
        return str(path)
    mirrored = hub_mirror(value)
    return str(mirrored) if mirrored else value





EXPERIMENTS: dict[str, Experiment] = {
    module.__name__.split(".")[-2]: module.EXPERIMENT
    for module in (base_model, pause_warmup, pause_star, star_mmlu, perplexity_grpo, reinforce_rm,
                   evaluate, summary)}


def validate(cls: type, values: dict, source: str):
    """Build `cls(**values)`, checking every key, type, range, choice and path; errors name `source`."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in values.items():
        check_field(cls, key, value, f"{source}: key {key!r} (value {value!r})")
    params = cls(**values)
    if hasattr(params, "check"):  # a class's own rules across fields
        try:
            params.check()
        except ParamError as e:
            raise ParamError(f"{source}: {e}") from None
    micro, batch = getattr(params, "micro_batch_size", 0), getattr(params, "batch_size", 0)
    if micro and batch % micro:
        raise ParamError(f"{source}: key 'micro_batch_size' (value {micro!r}): must divide "
                         f"batch_size ({batch})")
    for name, f in fields.items():
        value = getattr(params, name)
        if f.metadata.get("path") and value:
            if is_local(value) and not resolve_path(value).exists():
                raise ParamError(f"{source}: key {name!r} (value {value!r}): file not found "
                                 f"({resolve_path(value)})")
    return params


class _Loader(yaml.SafeLoader):
    """YAML as a researcher writes it: `3e-4` is a float (plain YAML 1.1 reads it as a string),
    and a key given twice in one mapping is an error (plain YAML keeps the last, silently)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice (line {seen[key] + 1} and line "
                    f"{key_node.start_mark.line + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                   |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                   |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                   |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))


def read_yaml(text: str):
    """Parse a params / grid / run file (or a command-line value) with the float-friendly loader."""
    return yaml.load(text, Loader=_Loader)


def parse_override(text: str):
    """A command-line value as YAML would read it: '3' -> 3, 'true' -> True, '3e-4' -> 0.0003,
    'a' -> 'a'."""
    return read_yaml(text) if text.strip() else ""


def params_file(experiment: str, profile: str) -> Path:
    return PARAMS_DIR / experiment / f"{profile}.yaml"


def load_params(experiment: str, profile: str = "cpu", overrides: dict | None = None):
    """The experiment's parameters: dataclass defaults <- the profile's YAML <- overrides."""
    if experiment not in EXPERIMENTS:
        raise ParamError(f"unknown experiment {experiment!r}; known: {', '.join(EXPERIMENTS)}")
    path = params_file(experiment, profile)
    if not path.is_file():
        profiles = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise ParamError(f"{path.relative_to(PROJ_ROOT)}: parameter file not found "
                         f"(profile {profile!r} of {experiment!r}); profiles: "
                         f"{', '.join(profiles)}")
    try:
        values = read_yaml(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ParamError(f"{path.relative_to(PROJ_ROOT)}: not valid YAML: {e}") from None
    if not isinstance(values, dict):
        raise ParamError(f"{path.relative_to(PROJ_ROOT)}: expected a mapping of key: value")
    cls = EXPERIMENTS[experiment].params
    validate(cls, values, str(path.relative_to(PROJ_ROOT)))  # names the file for its own errors
    return with_seed(validate(cls, {**values, **(overrides or {})},
                              f"{path.relative_to(PROJ_ROOT)} + overrides {sorted(overrides or {})}"))


SEED_FIELD = "{seed}"


def with_seed(params):
    """`params` with every '{seed}' in a string field replaced by its seed: a path per seed,
    e.g. `outputs/models/base-cpu-seed{seed}`, so seeds side by side never share a written model
    and seed k of an experiment starts from base model seed k."""
    seed = getattr(params, "seed", 0)
    changed = {f.name: getattr(params, f.name).replace(SEED_FIELD, str(seed))
               for f in dataclasses.fields(params)
               if isinstance(getattr(params, f.name), str) and SEED_FIELD in getattr(params, f.name)}
    return dataclasses.replace(params, **changed) if changed else params


def seed_free(params: dict) -> dict:
    """A run's parameters without its seed: the seed field dropped and the seed's number put back
    as '{seed}' where a path carries it (`with_seed`), so the seeds of one configuration compare
    equal (the summary's seed groups)."""
    seed = params.get("seed")
    pattern = re.compile(rf"seed{seed}(?!\d)")
    return {k: pattern.sub("seed" + SEED_FIELD, v) if isinstance(v, str) else v
            for k, v in params.items() if k != "seed"}


def to_dict(params) -> dict:
    return dataclasses.asdict(params)
