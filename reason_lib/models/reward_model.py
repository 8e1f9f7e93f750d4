"""Reward models on a causal LM backbone: level 1 a scalar (Bradley-Terry) head, level 2 a
10-class head, its reward the expected class. Both score replies through `RewardModelScorer`, a
TRL-style reward function `(prompts, completions, **_) -> list[float]`; they are trained by
`reason_lib.train.reward`.
"""

from __future__ import annotations

import torch

from reason_lib.answers import completion_text
from reason_lib.losses import expected_class
from reason_lib.models.load import DTYPES, float32_masters, mixed_precision, placement, resolve_device
from reason_lib.stats import proportion

LEVEL_CLASSES = {1: 1, 2: 10}


def load_reward_model(name_or_path: str, level: int = 1, dtype: str = "float32",
                      device: str = "auto", trust_remote_code: bool = False):
    """A sequence-classification model from a causal LM checkpoint (path or Hub id): the backbone's
    weights, a new score head with 1 (level 1) or 10 (level 2) outputs."""
    from transformers import AutoModelForSequenceClassification

    if level not in LEVEL_CLASSES:
        raise ValueError(f"reward model level {level!r}: expected 1 (scalar) or 2 (10-class)")
    model = AutoModelForSequenceClassification.from_pretrained(
        str(name_or_path), num_labels=LEVEL_CLASSES[level], dtype=DTYPES[dtype],
        use_safetensors=True, trust_remote_code=trust_remote_code, **placement(device))
    return model.to(resolve_device(device))


def freeze_backbone(model, trainable_layers: int):
    """Train only the top `trainable_layers` transformer blocks of a sequence-classification model,
    its final norm and its head (-1: leave everything trainable), those in float32 under a
    bfloat16 model (`float32_masters`): with everything trainable, everything, since a bfloat16
    weight rounds away any update below 2^-8 of itself (a learning rate of 1e-5 would train
    only the new head). Returns the model."""
    if trainable_layers < 0:
        return float32_masters(model.requires_grad_(True))
    backbone = model.base_model
    blocks = next((m for m in backbone.modules() if isinstance(m, torch.nn.ModuleList)), None)
    if blocks is None or trainable_layers > len(blocks):
        raise ValueError(f"rm_trainable_layers={trainable_layers}: the backbone has "
                         f"{0 if blocks is None else len(blocks)} transformer blocks")
    model.requires_grad_(False)
    for block in list(blocks)[len(blocks) - trainable_layers:]:
        block.requires_grad_(True)
    for child in backbone.children():  # the final norm: neither the blocks nor the embeddings
        if child is not blocks and not isinstance(child, torch.nn.Embedding):
            child.requires_grad_(True)
    for name, p in model.named_parameters():  # the head: everything outside the backbone
        if not name.startswith(model.base_model_prefix + "."):
            p.requires_grad_(True)
    return float32_masters(model)


class RewardModelScorer:
    """Scores (prompt, reply) pairs with a trained reward model, batched and without gradients;
    a TRL reward function. Level 1 returns the scalar, level 2 the expected class (1..10)."""

    def __init__(self, model, tokenizer, batch_size: int = 32, max_length: int = 512):
        self.model, self.tokenizer = model.eval().requires_grad_(False), tokenizer
        self.batch_size, self.max_length = batch_size, max_length
        self.n_classes = model.config.num_labels
        self.__name__ = "reward_model"

    def texts(self, prompts, completions) -> list[str]:
        """The chat-rendered conversations, exactly as the RewardTrainer saw them in training."""
        return [self.tokenizer.apply_chat_template(
            list(p) + [{"role": "assistant", "content": completion_text(c)}], tokenize=False)
            for p, c in zip(prompts, completions)]

    @torch.inference_mode()
    def logits(self, prompts, completions) -> torch.Tensor:
        """(n, n_classes) head outputs for each (prompt, completion)."""
        texts = self.texts(prompts, completions)
        if not texts:
            return torch.zeros(0, self.n_classes)
        device = next(self.model.parameters()).device
        # batches of similar length: a batch pads to its longest text, not to the longest overall
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = torch.zeros(len(texts), self.n_classes)
        for start in range(0, len(texts), self.batch_size):
            idx = order[start:start + self.batch_size]
            # right padding, as the RewardTrainer's collator: real tokens keep positions 0..n-1;
            # a text past max_length loses its beginning, never the reply being scored
            enc = self._encode([texts[i] for i in idx]).to(device)
            with mixed_precision(self.model):
                out[idx] = self.model(**enc).logits.float().cpu()
        return out

    def _encode(self, texts: list[str]):
        side = self.tokenizer.truncation_side
        self.tokenizer.truncation_side = "left"
        try:
            return self.tokenizer(texts, return_tensors="pt", padding=True, truncation=True,
                                  max_length=self.max_length, add_special_tokens=False,
                                  padding_side="right")
        finally:
            self.tokenizer.truncation_side = side

    def rewards(self, logits: torch.Tensor) -> torch.Tensor:
        return logits[:, 0] if self.n_classes == 1 else expected_class(logits)

    def __call__(self, prompts, completions, **_) -> list[float]:
        return self.rewards(self.logits(prompts, completions)).tolist()

    def distribution(self, prompts, completions) -> torch.Tensor:
        """Level 2: the (n, 10) class probabilities of each reply (the report shows them)."""
        return self.logits(prompts, completions).softmax(-1)

    def pairwise_accuracy(self, rows: list[dict]) -> dict:
        """Held-out share of pairs the model ranks chosen above rejected, with its Wilson interval."""
        prompts = [r["prompt"] for r in rows]
        chosen = self(prompts, [r["chosen"] for r in rows])
        rejected = self(prompts, [r["rejected"] for r in rows])
        return proportion(c > r for c, r in zip(chosen, rejected))
