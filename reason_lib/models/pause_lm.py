"""The pause LM: any `transformers` causal LM plus a `<|pause|>` token with its own embedding and a
*pause head* deciding, from the last hidden state, whether the next token is a pause.

- Input: a pause position takes `pause_embedding` (one vector, trainable on its own); every other
  token its ordinary embedding. The pause id lies outside the base vocabulary, so the LM head can
  never predict a pause: it predicts the next *non-pause* token.
- Loss at each reply position t: the LM's cross-entropy on the next non-pause token after t, plus
  `pause_weight` x the pause head's binary cross-entropy on "token t+1 is a pause".
- Trainable parts by flag: `pause_embedding`, `pause_head`, `lm_head`, `lm_embeddings`, plus LoRA
  adapters (peft) on the transformer blocks. Tied input/output embeddings are untied first, so the
  `lm_head` and `lm_embeddings` flags act separately.
- Decoding: at every step the pause head decides (threshold 0.5 when greedy, a Bernoulli draw when
  sampling); on a pause the pause token is emitted, else a token is drawn from the LM head; at most
  `max_consecutive_pauses` in a row.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from reason_lib.data.pauses import PAUSE
from reason_lib.models.delta import save_delta, untie_embeddings
from reason_lib.models.load import DTYPES, load_model, lora_config
from reason_lib.sampling import draw

FLAGS = ("pause_embedding", "pause_head", "lm_head", "lm_embeddings")


def add_pause_token(tokenizer) -> int:
    """Register `<|pause|>` as a special token of `tokenizer` (idempotent); its id."""
    if PAUSE not in tokenizer.get_vocab():
        tokenizer.add_special_tokens({"additional_special_tokens": [PAUSE]})
    return tokenizer.convert_tokens_to_ids(PAUSE)


class PauseLM(nn.Module):
    """A causal LM with a pause embedding and a pause head (see the module docstring)."""

    def __init__(self, base, pause_token_id: int, pause_weight: float = 1.0,
                 source: str | None = None, compute_dtype: torch.dtype | None = None):
        super().__init__()
        self.base = base
        self.pause_token_id = pause_token_id
        self.pause_weight = pause_weight
        causal = self.causal
        # what the weights were loaded from: a save stores what changed since, on top of it
        self.source = str(source or causal.name_or_path)
        untie_embeddings(causal)  # so the lm_head and lm_embeddings flags can differ
        emb = causal.get_input_embeddings()
        hidden = emb.weight.shape[1]
        # the decoder's dtype, what the embeddings must feed it (a trained embedding matrix is
        # float32 under a bfloat16 model)
        self.compute_dtype = compute_dtype or emb.weight.dtype
        # The pause parts are trained: float32 whatever the model's dtype (in bfloat16 an update
        # below 2^-8 of a weight is rounded away). A new token starts at the mean embedding: in
        # distribution, and neutral.
        self.pause_embedding = nn.Parameter(emb.weight.detach().float().mean(0))
        self.pause_head = nn.Linear(hidden, 1, dtype=torch.float32, device=emb.weight.device)

    # -- structure -------------------------------------------------------------------------------
    @property
    def causal(self):
        """The underlying causal LM (inside the peft wrapper when LoRA is on)."""
        return self.base.get_base_model() if hasattr(self.base, "get_base_model") else self.base

    @property
    def device(self):
        return self.pause_embedding.device

    def set_trainable(self, pause_embedding: bool = True, pause_head: bool = True,
                      lm_head: bool = False, lm_embeddings: bool = False,
                      lora: dict | None = None, use_pauses: bool = True) -> dict:
        """Freeze everything, then unfreeze the flagged parts (and add LoRA adapters when `lora`
        gives their settings); returns the trainable parameter counts by part.

        `use_pauses=False` makes the no-pause baseline a plain fine-tune of the LM: the pause
        embedding and head stay frozen whatever their flags, and the pause head's loss is off
        (weight 0), so it cannot shape the shared hidden states through LoRA."""
        if not use_pauses:
            pause_embedding = pause_head = False
            self.pause_weight = 0.0
        self.base.requires_grad_(False)
        if lora is not None:
            from peft import get_peft_model


            self.base = get_peft_model(self.base, lora_config(**lora))
        causal = self.causal
        for module, flag in ((causal.get_output_embeddings(), lm_head),
                             (causal.get_input_embeddings(), lm_embeddings)):
            if flag and module.weight.dtype != torch.float32:
                module.float()  # trained weights keep a float32 copy, as the pause parts do
            module.weight.requires_grad_(flag)
        self.pause_embedding.requires_grad_(pause_embedding)
        self.pause_head.requires_grad_(pause_head)
        return {name: sum(p.numel() for n, p in self.named_parameters()
                          if p.requires_grad and part in n)
                for name, part in [("pause_embedding", "pause_embedding"),
                                   ("pause_head", "pause_head"), ("lora", "lora_"),
                                   ("lm_head", "lm_head"), ("lm_embeddings", "embed_tokens")]}

    # -- forward ---------------------------------------------------------------------------------
    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Token embeddings with the pause embedding at pause positions: (batch, seq, hidden)."""
        is_pause = input_ids == self.pause_token_id
        emb = self.causal.get_input_embeddings()
        x = emb(input_ids.masked_fill(is_pause, 0)).to(self.compute_dtype)
        return torch.where(is_pause.unsqueeze(-1), self.pause_embedding.to(x.dtype), x)

    def hidden(self, input_ids, attention_mask=None, past_key_values=None, position_ids=None,
               use_cache: bool = False):
        """The decoder's last hidden states (and the cache)."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if position_ids is None:
            position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        decoder = self.causal.get_decoder()
        out = decoder(inputs_embeds=self.embed(input_ids), attention_mask=attention_mask,
                      position_ids=position_ids, cache=past_key_values, use_cache=use_cache)
        return out.last_hidden_state, out.cache

    def heads(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(LM logits over the base vocabulary, pause logit) from hidden states."""
        head = self.causal.get_output_embeddings()
        return head(hidden.to(head.weight.dtype)), self.pause_head(hidden.float()).squeeze(-1)

    def forward(self, input_ids, attention_mask=None, loss_mask=None):
        """(LM logits, pause logit); with `loss_mask`, the training losses (`losses`), so that a
        wrapper such as DDP sees the training step as one forward call."""
        if loss_mask is not None:
            return self.losses(input_ids, attention_mask, loss_mask)
        h, _ = self.hidden(input_ids, attention_mask)
        return self.heads(h)

    def losses(self, input_ids, attention_mask, loss_mask) -> dict:
        """{"loss", "lm_loss", "pause_loss"} on the positions whose next token is in `loss_mask`
        (the reply): LM cross-entropy on the next non-pause token, pause-head BCE on the next
        token being a pause."""
        logits, pause_logit = self(input_ids, attention_mask)
        targets = next_non_pause(input_ids, self.pause_token_id)
        is_pause = (input_ids == self.pause_token_id).float()
        mask = (loss_mask[:, 1:] * attention_mask[:, 1:]).bool()
        lm_mask = mask & (targets[:, 1:] >= 0)
        lm = F.cross_entropy(logits[:, :-1][lm_mask].float(), targets[:, 1:][lm_mask])
        pause = F.binary_cross_entropy_with_logits(pause_logit[:, :-1][mask].float(),
                                                   is_pause[:, 1:][mask])
        return {"loss": lm + self.pause_weight * pause, "lm_loss": lm, "pause_loss": pause}

    # -- decoding --------------------------------------------------------------------------------
    @torch.no_grad()
    def generate_ids(self, input_ids, attention_mask, eos_token_id: int, pad_token_id: int,
                     max_new_tokens: int = 128, temperature: float = 0.0,
                     max_consecutive_pauses: int = 8, allow_pauses: bool = True,
                     force_pause: bool = False) -> torch.Tensor:
        """New token ids (batch, <= max_new_tokens) for left-padded prompts, with the KV cache.

        `temperature` 0 is greedy (pause when p > 0.5, argmax token); `force_pause` makes the
        head always say "pause" (tests; the bound still applies); `allow_pauses=False` never pauses.
        """
        was_training = self.training
        self.eval()
        h, past = self.hidden(input_ids, attention_mask, use_cache=True)
        h = h[:, -1]
        positions = attention_mask.sum(-1) - 1
        n = input_ids.shape[0]
        run = torch.zeros(n, dtype=torch.long, device=input_ids.device)
        done = torch.zeros(n, dtype=torch.bool, device=input_ids.device)
        out = []
        for _ in range(max_new_tokens):
            logits, pause_logit = self.heads(h)
            p = torch.sigmoid(pause_logit.float())
            if force_pause:
                pause = torch.ones_like(done)
            elif temperature > 0:
                pause = torch.bernoulli(p).bool()
            else:
                pause = p > 0.5
            pause &= (run < max_consecutive_pauses) & allow_pauses
            if temperature > 0:
                token = draw(torch.softmax(logits.float() / temperature, -1))
            else:
                token = logits.argmax(-1)
            token = torch.where(pause, torch.full_like(token, self.pause_token_id), token)
            token = torch.where(done, torch.full_like(token, pad_token_id), token)
            out.append(token)
            run = torch.where(pause, run + 1, torch.zeros_like(run))
            done |= token == eos_token_id
            if done.all():
                break
            attention_mask = torch.cat([attention_mask, (~done | (token == eos_token_id)).long()
                                        .unsqueeze(-1)], dim=-1)
            positions = positions + 1
            h, past = self.hidden(token.unsqueeze(-1), attention_mask, past_key_values=past,
                                  position_ids=positions.unsqueeze(-1), use_cache=True)
            h = h[:, -1]
        self.train(was_training)
        return torch.stack(out, dim=1)

    # -- persistence -----------------------------------------------------------------------------
    def save_pretrained(self, path, tokenizer=None) -> None:
        """What training changed since `self.source`, as a delta checkpoint (its LoRA adapters,
        any trained LM head or embeddings; `reason_lib.models.delta`), the pause parameters in
        `pause.safetensors`, the settings in `pause_config.json`. Nothing is merged or copied: a
        7B LoRA pause LM saves tens of MB. Loads back with `from_pretrained`."""
        from safetensors.torch import save_file

        path = Path(path)
        causal = self.causal
        trained = {n: p for n, p in causal.named_parameters() if p.requires_grad and "lora_" not in n}
        save_delta(path, self.source, [self.base] if self.base is not causal else [], trained)
        if tokenizer is not None:
            tokenizer.save_pretrained(path)
        save_file({"pause_embedding": self.pause_embedding.detach().contiguous(),
                   "pause_head.weight": self.pause_head.weight.detach().contiguous(),
                   "pause_head.bias": self.pause_head.bias.detach().contiguous()},
                  path / "pause.safetensors")
        (path / "pause_config.json").write_text(json.dumps(
            {"pause_token": PAUSE, "pause_token_id": self.pause_token_id,
             "pause_weight": self.pause_weight,
             "compute_dtype": str(self.compute_dtype).removeprefix("torch.")}))

    @classmethod
    def from_pretrained(cls, path, **load_kwargs) -> "PauseLM":
        """A saved pause LM; or, from a plain causal LM folder / Hub id (no `pause.safetensors`),
        a new pause LM around it (pass the tokenizer's pause id as `pause_token_id`)."""
        from safetensors.torch import load_file


        pause_token_id = load_kwargs.pop("pause_token_id", None)
        local = Path(str(path))
        saved = (local / "pause_config.json").is_file()
        if saved:
            pause_token_id = json.loads((local / "pause_config.json").read_text())["pause_token_id"]
        if pause_token_id is None:
            raise ValueError(f"{path}: not a saved pause LM; pass pause_token_id to wrap it")
        model = cls(load_model(str(path), **load_kwargs), pause_token_id, source=str(path),
                    compute_dtype=DTYPES[load_kwargs.get("dtype", "float32")])
        if saved:
            state = load_file(local / "pause.safetensors")
            with torch.no_grad():
                model.pause_embedding.copy_(state["pause_embedding"])
                model.pause_head.weight.copy_(state["pause_head.weight"])
                model.pause_head.bias.copy_(state["pause_head.bias"])
        return model


def next_non_pause(input_ids: torch.Tensor, pause_token_id: int) -> torch.Tensor:
    """For each position j, the first non-pause token at or after j (-1 when none): (batch, seq)."""
    n = input_ids.shape[1]
    idx = torch.arange(n, device=input_ids.device).expand_as(input_ids)
    idx = torch.where(input_ids == pause_token_id, torch.full_like(idx, n), idx)
    nearest = torch.flip(torch.cummin(torch.flip(idx, [1]), dim=1).values, [1])
    padded = torch.cat([input_ids, torch.full_like(input_ids[:, :1], -1)], dim=1)
    return padded.gather(1, nearest)
