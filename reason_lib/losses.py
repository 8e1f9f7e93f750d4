"""Losses the experiments study: the 10-class preference loss, REINFORCE and RLOO objectives.

Shapes: `logits_*` (batch, n_classes); `logprobs` (batch,) summed over a completion's tokens;
`rewards` (batch,) or (n_prompts, k) for k samples per prompt.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def bradley_terry_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """-log sigmoid(r_w - r_l), the level-1 (scalar) reward-model loss, averaged over pairs."""
    return -F.logsigmoid(r_chosen - r_rejected).mean()


def prob_chosen_above(logits_chosen: torch.Tensor, logits_rejected: torch.Tensor) -> torch.Tensor:
    """P(class of chosen > class of rejected) = sum_i sum_j p_w[i] p_l[j] [i > j], per pair."""
    p_w = logits_chosen.float().softmax(-1)
    p_l = logits_rejected.float().softmax(-1)
    # sum_j<i p_l[j]: the rejected CDF shifted by one class, so the double sum is one dot product
    below = torch.cumsum(p_l, -1) - p_l
    return (p_w * below).sum(-1)


def class_preference_loss(logits_chosen: torch.Tensor, logits_rejected: torch.Tensor,
                          eps: float = 1e-8) -> torch.Tensor:
    """The level-2 (10-class) loss -log sum_i sum_j p_w[i] p_l[j] [i > j], averaged over pairs."""
    return -torch.log(prob_chosen_above(logits_chosen, logits_rejected) + eps).mean()


def expected_class(logits: torch.Tensor) -> torch.Tensor:
    """The level-2 reward: the expected class sum_k k p[k], classes numbered 1..n_classes."""
    classes = torch.arange(1, logits.shape[-1] + 1, device=logits.device, dtype=torch.float32)
    return (logits.float().softmax(-1) * classes).sum(-1)


def rloo_baseline(rewards: torch.Tensor) -> torch.Tensor:
    """Leave-one-out baseline for (n_prompts, k) rewards: each sample's baseline is the mean
    reward of the *other* k - 1 samples of its prompt."""
    k = rewards.shape[-1]
    if k < 2:
        raise ValueError("RLOO needs at least 2 samples per prompt (k >= 2)")
    return (rewards.sum(-1, keepdim=True) - rewards) / (k - 1)


def reinforce_loss(logprobs: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    """The REINFORCE surrogate -mean(A * log pi(y|x)); its gradient is the policy gradient.
    `advantages` (reward minus a baseline) carry no gradient."""
    return -(advantages.detach() * logprobs).mean()
