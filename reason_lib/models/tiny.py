"""A tiny causal LM built locally: a BPE tokenizer trained with `tokenizers` and a Llama config.

Saved with `save_pretrained`, it loads by path exactly as a Hub model would.
"""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

SPECIAL = {"pad_token": "<|pad|>", "eos_token": "<|im_end|>", "bos_token": "<|im_start|>",
           "unk_token": "<|unk|>"}
# ChatML, as SmolLM2 and many instruct models use; the reply ends with eos (<|im_end|>).
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def train_tokenizer(texts, vocab_size: int) -> PreTrainedTokenizerFast:
    """Byte-level BPE over `texts` (any text stays encodable); digits split one per token,
    which small models need to learn arithmetic."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL.values()),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **SPECIAL)
    fast.chat_template = CHAT_TEMPLATE
    fast.padding_side = "left"  # generation pads on the left; the TRL collators pad themselves
    return fast


def build_model(tokenizer, hidden_size: int = 256, n_layers: int = 4, n_heads: int = 4,
                intermediate_size: int = 768, max_position: int = 512, seed: int = 0):
    """A randomly initialised LlamaForCausalLM sized for CPU training, tied embeddings."""
    import torch

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, num_hidden_layers=n_layers,
        num_attention_heads=n_heads, num_key_value_heads=n_heads,
        intermediate_size=intermediate_size, max_position_embeddings=max_position,
        tie_word_embeddings=True, pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id,
    )
    return LlamaForCausalLM(config)
