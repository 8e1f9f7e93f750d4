"""reason_lib.losses: the 10-class preference loss, the RLOO baseline, the REINFORCE surrogate."""

import math

import pytest
import torch

from reason_lib.losses import (bradley_terry_loss, class_preference_loss, expected_class,
                               prob_chosen_above, reinforce_loss, rloo_baseline)

P_HIGH = torch.tensor([[0.2, 0.3, 0.5]])  # mass on the top classes
P_LOW = torch.tensor([[0.5, 0.3, 0.2]])


def test_class_loss_equals_hand_computation():
    # sum_i sum_j p_w[i] p_l[j] [i > j] = 0.3 * 0.5 + 0.5 * (0.5 + 0.3) = 0.55
    assert prob_chosen_above(P_HIGH.log(), P_LOW.log()).item() == pytest.approx(0.55)
    assert class_preference_loss(P_HIGH.log(), P_LOW.log()).item() == pytest.approx(-math.log(0.55))
    # swapped: 0.3 * 0.2 + 0.2 * (0.2 + 0.3) = 0.16
    assert prob_chosen_above(P_LOW.log(), P_HIGH.log()).item() == pytest.approx(0.16)


def test_class_loss_is_lower_when_chosen_sits_above_rejected():
    assert class_preference_loss(P_HIGH.log(), P_LOW.log()) < class_preference_loss(P_LOW.log(), P_HIGH.log())


def test_class_loss_gradient_moves_chosen_mass_up():
    logits_w = torch.zeros(1, 10, requires_grad=True)
    class_preference_loss(logits_w, torch.zeros(1, 10)).backward()
    # descending the loss raises the top class of the chosen reply and lowers the bottom one
    assert logits_w.grad[0, -1] < 0 < logits_w.grad[0, 0]


def test_expected_class_counts_from_one():
    assert expected_class(torch.tensor([[0.0] * 9 + [50.0]])).item() == pytest.approx(10.0)
    assert expected_class(torch.zeros(1, 10)).item() == pytest.approx(5.5)


def test_bradley_terry():
    assert bradley_terry_loss(torch.tensor([0.0]), torch.tensor([0.0])).item() == pytest.approx(math.log(2))
    assert bradley_terry_loss(torch.tensor([3.0]), torch.tensor([0.0])) < bradley_terry_loss(
        torch.tensor([0.0]), torch.tensor([3.0]))


def test_rloo_baseline_excludes_the_sample_itself():
    rewards = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 6.0]])
    assert torch.allclose(rloo_baseline(rewards), torch.tensor([[2.5, 2.0, 1.5], [3.0, 3.0, 0.0]]))
    changed = rewards.clone()
    changed[0, 0] = 100.0  # a sample's own reward never enters its own baseline
    assert rloo_baseline(changed)[0, 0] == rloo_baseline(rewards)[0, 0]
    with pytest.raises(ValueError, match="at least 2"):
        rloo_baseline(torch.ones(3, 1))


def test_reinforce_loss_pushes_up_positive_advantages():
    logp = torch.zeros(2, requires_grad=True)
    reinforce_loss(logp, torch.tensor([1.0, -1.0])).backward()
    assert logp.grad[0] < 0 < logp.grad[1]  # gradient descent raises log p of the good sample
