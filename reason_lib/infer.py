"""Replies of any model to a prompt file, to look at what a model does (`make infer`).

    python -m reason_lib.infer MODEL PROMPTS.jsonl [--temperature 0] [--max-new-tokens 256]

MODEL is anything `make evaluate` takes (a run id, `<run id>/<name>`, `<experiment>/latest`, a
folder, a Hub id). Each line of PROMPTS is a JSON object with `prompt` (a string, or chat messages
`[{"role": ..., "content": ...}]`) or `question` (a GSM8K-style question, asked with the
experiments' GSM8K prompt). Replies go to a new `outputs/infer/<id>/replies.jsonl` (one object per
prompt: model, prompt, reply; a pause LM's pauses stay visible as `<|pause|>`, with their count),
with `info.json` saying what produced them. Greedy by default. The model and every line are
checked before anything loads.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import sys
from pathlib import Path

from reason_lib import config
from reason_lib.data.files import DataError
from reason_lib.data.gsm8k import gsm8k_prompt
from reason_lib.data.pauses import count_pauses
from reason_lib.disk import atomic_write
from reason_lib.generate import generate, pause_generate
from reason_lib.make_args import with_make_args
from reason_lib.models.find import find_models, load_found


def read_prompts(path) -> list:
    """The prompts of a jsonl file (strings or chat messages); DataError naming line and field."""
    path = config.resolve_path(str(path))
    if not path.is_file():
        raise DataError(f"{path}: prompt file not found")
    prompts = []
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}, line {i}: not valid JSON ({e.msg})") from None
        if not isinstance(row, dict) or not ({"prompt", "question"} & row.keys()):
            raise DataError(f"{path}, line {i}: expected an object with field 'prompt' or 'question'")
        if "question" in row and "prompt" not in row:
            if not isinstance(row["question"], str) or not row["question"].strip():
                raise DataError(f"{path}, line {i}: field 'question' is {row['question']!r}, expected text")
            prompts.append(gsm8k_prompt(row))
            continue
        prompt = row["prompt"]
        messages_ok = isinstance(prompt, list) and prompt and all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in prompt)
        if not (isinstance(prompt, str) and prompt.strip()) and not messages_ok:
            raise DataError(f"{path}, line {i}: field 'prompt' is {str(prompt)[:60]!r}, expected text "
                            "or a list of {role, content} messages")
        prompts.append([{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt)
    if not prompts:
        raise DataError(f"{path}: no prompts")
    return prompts


def prompt_text(prompt: list[dict]) -> str:
    """A prompt's last user message, as the terminal echoes it above the reply."""
    users = [m["content"] for m in prompt if m.get("role") == "user"]
    return (users[-1] if users else str(prompt)).replace("\n", " ")


def infer(model_spec: str, prompts_path, temperature: float = 0.0, max_new_tokens: int = 256,
          batch_size: int = 16, dtype: str = "float32", device: str = "auto", seed: int = 0) -> Path:
    """Write every named model's replies to a new outputs/infer/<id>/replies.jsonl; its path."""
    from transformers import set_seed

    models = find_models(model_spec)
    prompts = read_prompts(prompts_path)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = config.outputs_root() / "infer" / f"{stamp}-{secrets.token_hex(2)}"
    folder.mkdir(parents=True)  # never an existing one
    atomic_write(folder / "info.json", json.dumps(
        {"model": model_spec, "models": [m.label for m in models], "prompts": str(prompts_path),
         "temperature": temperature, "max_new_tokens": max_new_tokens, "seed": seed}, indent=2))
    lines = []
    for found in models:
        model, tokenizer = load_found(found, dtype, device)
        set_seed(seed)
        gen = dict(max_new_tokens=max_new_tokens, temperature=temperature, batch_size=batch_size,
                   desc=f"replies of {found.label}")
        replies = (pause_generate if found.pause else generate)(model, tokenizer, prompts, **gen)
        for prompt, reply in zip(prompts, replies):
            line = {"model": found.label, "prompt": prompt, "reply": reply}
            if found.pause:
                line["pauses"] = count_pauses(reply)
            lines.append(json.dumps(line, ensure_ascii=False))
    atomic_write(folder / "replies.jsonl", "\n".join(lines) + "\n")
    return folder / "replies.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reason_lib.infer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("prompts")
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(with_make_args(sys.argv[1:] if argv is None else argv))
    try:
        models = find_models(args.model)  # both checked before any weights load
        read_prompts(args.prompts)
        print("models:", ", ".join(m.label for m in models), flush=True)
        out = infer(args.model, args.prompts, args.temperature, args.max_new_tokens,
                    args.batch_size, args.dtype, args.device, args.seed)
    except (config.ParamError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"replies: {out}")
    for line in out.read_text().splitlines()[:5]:
        row = json.loads(line)
        print(f"--- {row['model']}\n> {prompt_text(row['prompt'])}\n{row['reply']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
