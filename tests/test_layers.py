"""reason_lib's layers run one way: a module imports only from its own layer or below, at the top
of the file, and no import cycle exists. A new module must be given its layer here."""

import ast
from pathlib import Path

import reason_lib

PACKAGE = Path(reason_lib.__file__).parent

EXPERIMENTS = [f"experiments.{e}" for e in ("base_model", "pause_warmup", "pause_star", "star_mmlu",
                                            "perplexity_grpo", "reinforce_rm", "evaluate", "summary")]
# bottom to top; `models.smol` is a command-line tool (it converts and checks a checkpoint by
# generating), so it sits with the other tools
LAYERS = [
    # 0: the parameter framework, each experiment's parameters, cost and tables, paths,
    # statistics, files, processes and the cores they share, sampling, answers
    ["fields", "experiments", *EXPERIMENTS, *(f"{e}.params" for e in EXPERIMENTS), "config",
     "cost", *(f"{e}.cost" for e in EXPERIMENTS[:6]), *(f"{e}.report" for e in EXPERIMENTS[:7]),
     "reports", "stats", "disk", "distributed", "lanes", "sampling", "answers", "losses", "progress",
     "make_args", "plots", "trackers", "rehearsal", "studies"],
    # 1: data and models
    ["data", "data.files", "data.synthetic", "data.pauses", "data.mirror", "data.multichoice",
     "data.gsm8k", "data.mmlu", "data.preferences", "data.world", "models", "models.delta",
     "models.load", "models.tiny", "models.pause_lm", "models.reward_model"],
    # 2: generation, rewards, task scoring and each experiment's data, checks and test items
    ["generate", "rewards", "evaluate", *(f"{e}.data" for e in EXPERIMENTS[:6])],
    # 3: training (never the run folder: it receives what it logs to)
    ["train", "train.trainers", "train.sft", "train.dpo", "train.grpo", "train.reward", "train.pause", "train.star",
     "train.star_tasks", "train.reinforce", "train.base", "train.start"],
    # 4: run folders and finding or keeping the models they hold
    ["runs", "models.find", "models.keep"],
    # 5: the experiments, the benches and the studies' claims
    [*(f"experiments.{e}.pipeline" for e in ("pause_star", "star_mmlu", "perplexity_grpo",
                                              "reinforce_rm")),
     "benches", "claims"],
    # 6: orchestration: starting a run, the CLI, results, summary, estimates, tools
    ["checks", "precision", "session", "cli", "results", "summary", "estimate", "infer",
     "models.smol"],
]
LAYER = {f"reason_lib.{m}": i for i, names in enumerate(LAYERS) for m in names}


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.Module):
    """(node, imported reason_lib module names, at the top level?) of every import."""
    top = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("reason_lib"):
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("reason_lib")]
        else:
            continue
        if names:
            yield node, names, id(node) in top


def graph() -> tuple[dict[str, set[str]], list[str]]:
    """({module: the package's modules it imports}, function-local imports as 'module:line')."""
    files = {_module(p): p for p in PACKAGE.rglob("*.py")}
    edges, local = {}, []
    for mod, path in files.items():
        edges[mod] = set()
        for node, names, at_top in _imports(ast.parse(path.read_text())):
            if not at_top:
                local.append(f"{mod}:{node.lineno}")
            # `from reason_lib import x` names the module reason_lib.x; the package itself is no edge
            found = {n for n in names if n in files and n != "reason_lib"}
            edges[mod] |= found - {mod}
    return edges, local


def problems() -> list[str]:
    """Every import the layers forbid: inside a function, from a higher layer, in a cycle, and
    every module without a layer."""
    edges, local = graph()
    found = [f"import inside a function: {x}" for x in local]
    found += [f"no layer: {m}" for m in sorted(edges) if m != "reason_lib" and m not in LAYER]
    found += [f"upward: {a} ({LAYER[a]}) -> {b} ({LAYER[b]})" for a in sorted(edges)
              for b in sorted(edges[a]) if a in LAYER and b in LAYER and LAYER[b] > LAYER[a]]
    state: dict[str, int] = {}

    def visit(m, path):
        state[m] = 1
        for n in sorted(edges[m]):
            if state.get(n) == 1:
                found.append("cycle: " + " -> ".join(path[path.index(n):] + [n]))
            elif n not in state:
                visit(n, path + [n])
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])
    return found


def test_every_module_imports_at_the_top_only_downward_and_without_a_cycle():
    assert problems() == []


def test_the_layer_check_sees_an_upward_edge_a_cycle_and_a_local_import(tmp_path, monkeypatch):
    """The walk itself, on a throwaway package: what it must refuse, it finds."""
    pkg = tmp_path / "reason_lib"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "data" / "__init__.py").write_text("")
    (pkg / "config.py").write_text("def f():\n    from reason_lib import runs\n")
    (pkg / "runs.py").write_text("from reason_lib.data import gsm8k\n")
    (pkg / "data" / "gsm8k.py").write_text("from reason_lib import runs\n")
    (pkg / "extra.py").write_text("")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", pkg)
    assert problems() == [
        "import inside a function: reason_lib.config:2", "no layer: reason_lib.extra",
        "upward: reason_lib.config (0) -> reason_lib.runs (4)",
        "upward: reason_lib.data.gsm8k (1) -> reason_lib.runs (4)",
        "cycle: reason_lib.runs -> reason_lib.data.gsm8k -> reason_lib.runs"]


def test_the_command_line_does_not_import_plotting_statistics_or_model_classes():
    """With every import at the top, `python -m reason_lib.cli` once took 5-6 s to start (matplotlib
    through claims, scipy through stats, transformers' model classes through train.base) instead
    of 2: the runner and the Makefile's commands import only what they use."""
    import subprocess
    import sys

    code = ("import sys, reason_lib.cli, reason_lib.session; "
            "print(sorted(m for m in ('matplotlib', 'scipy', 'reason_lib.models.tiny', "
            "'reason_lib.train.base') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
