"""A local mirror of Hub datasets, for machines with no internet (cluster compute nodes).

    python -m reason_lib.data.mirror <mirror dir> openai/gsm8k:main cais/mmlu:all openai/MMMLU:YO_NG

run where the Hub is reachable (a login node) writes each `<owner>/<name>:<config>` into
`<mirror dir>/<owner>/<name>/` in the Hub repo's own layout: a README whose `configs:` block names
one parquet file per split. With `REASON_LIB_HUB_MIRROR=<mirror dir>` every parameter naming the
Hub id then loads that folder through the same `load_dataset(folder, config, split=...)`.
Models need no mirror: `huggingface-cli download <id>` fills the standard cache, which
`from_pretrained(<id>)` reads offline (`HF_HUB_OFFLINE=1`); a model folder placed under the mirror
is used too.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml


def write_dataset(folder: str | Path, configs: dict[str, dict[str, list[dict]]]) -> Path:
    """Write {config: {split: rows}} as a Hub dataset repo folder (README `configs:` + parquet);
    configs already in the folder's README are kept."""
    from datasets import Dataset

    folder = Path(folder)
    readme = folder / "README.md"
    known = {}
    if readme.is_file():
        header = readme.read_text().split("---")[1]
        known = {c["config_name"]: c for c in yaml.safe_load(header).get("configs", [])}
    for name, splits in configs.items():
        files = []
        for split, rows in splits.items():
            path = Path(name) / f"{split}-00000-of-00001.parquet"
            (folder / name).mkdir(parents=True, exist_ok=True)
            Dataset.from_list(rows).to_parquet(str(folder / path))
            files.append({"split": split, "path": str(path)})
        known[name] = {"config_name": name, "data_files": files}
    header = yaml.safe_dump({"configs": list(known.values())}, sort_keys=False)
    readme.write_text(f"---\n{header}---\n")
    return folder


def fetch(mirror: str | Path, repo_id: str, config: str | None = None) -> Path:
    """Download every split of one config of a Hub dataset into the mirror (needs the network)."""
    from datasets import load_dataset

    splits = load_dataset(repo_id, config)
    return write_dataset(Path(mirror) / repo_id,
                         {config or "default": {s: [dict(r) for r in d] for s, d in splits.items()}})


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    for spec in argv[1:]:
        repo_id, _, config = spec.partition(":")
        print(f"{spec}: {fetch(argv[0], repo_id, config or None)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
