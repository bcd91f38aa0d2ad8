"""Noise as a regularizer: on a network's units (a layer, section `dropout-variants`), on its inputs (a
``transform`` for ``fit``) and on its weights (a callback) (section `reg-noise`)."""
from __future__ import annotations

import torch
from torch import nn

from .._validate import check_float
from ..train import Callback
from .penalties import _check_params, penalized_names


class AdditiveGaussianNoise(nn.Module):
    """Additive noise y = x + ε with ε_i ~ N(0, σ²) in training, identity at inference. Unlike
    multiplicative noise its scale does not grow with x, so a ReLU unit, whose output scales with
    its weights (relu(a z) = a relu(z) for a > 0), can make it negligible (section `dropout-variants`)."""

    def __init__(self, sigma: float):
        super().__init__()
        self.sigma = check_float("sigma", sigma, minimum=0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            got = f"dtype {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
            raise TypeError(f"x must be a floating-point tensor, got {got}")
        if not self.training or self.sigma == 0.0:
            return x
        return x + self.sigma * torch.randn_like(x)

    def extra_repr(self) -> str:
        return f"sigma={self.sigma:g}"


def _check_batch(x) -> None:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        got = f"dtype {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise TypeError(f"x must be a floating-point tensor, got {got}")


class GaussianInputNoise:
    """Gaussian noise on the inputs, x ← x + σε with ε ~ N(0, I), a fresh draw for every training
    mini-batch: ``fit(..., transform=GaussianInputNoise(0.1))``. For linear regression with the
    squared loss it is, in expectation, L2 (Tikhonov) regularization: E‖y − (X + E)w‖²/n =
    ‖y − Xw‖²/n + σ²‖w‖² (Bishop 1995; see :func:`~trainwell.regularization.quadratic.noisy_input_loss`).
    Draws from torch's global generator, which ``fit`` and ``fit_many`` seed per run and member."""

    def __init__(self, sigma: float):
        self.sigma = check_float("sigma", sigma, minimum=0.0)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        _check_batch(x)
        return x if self.sigma == 0.0 else x + self.sigma * torch.randn_like(x)

    def __repr__(self) -> str:
        return f"GaussianInputNoise(sigma={self.sigma:g})"


class WeightNoise(Callback):
    """Gaussian weight noise: the loss and gradient at w + ε, the update applied to w.

    Graves 2011; Goodfellow et al. 2016, §7.5. Before every training forward
    pass each weight is perturbed, w + ε with ε ~ N(0, σ²), the loss and its gradient are computed at the
    perturbed weights, and right after the optimizer step ε is taken away again, so that the update
    computed at w + ε is applied to w. (This is the variant Graves used, one draw per mini-batch;
    the weights are never left noisy, so evaluation, early stopping and other callbacks see clean
    ones.) With weight decay, the decay also sees w + ε.

    The noisy weights are those of ``params`` (see
    :func:`~trainwell.regularization.penalties.penalized_names`; default: the weights of linear and
    convolutional layers). The noise is added by a forward pre-hook of the run's members (only in
    training mode) and removed by a step hook of the optimizer; both are removed when training ends.
    Each member draws its noise from its own random stream, so a member of ``fit_many`` gets the
    noise of its separate ``fit``.
    """

    per_member = True

    def __init__(self, sigma: float, params="weights"):
        self.sigma = check_float("sigma", sigma, minimum=0.0)
        self.params = _check_params(params)

    def on_fit_start(self, run) -> None:
        members, names = run.model, penalized_names(run.model, self.params)
        weights = [members.member_params(m, names) for m in range(members.members)]
        self._added: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._undo = [members.register_forward_pre_hook(lambda _: self._perturb(members, weights)).remove,
                      run.optimizer.register_step_post_hook(lambda *_: self._restore()).remove]

    @torch.no_grad()
    def _perturb(self, members, weights) -> None:
        """w ← w + ε, every member from its own stream; once per step (a second forward reuses ε)."""
        if not members.training or self._added or self.sigma == 0.0:
            return
        for m, member_weights in enumerate(weights):
            with members.rng(m):
                for w in member_weights:
                    noise = self.sigma * torch.randn(w.shape, dtype=w.dtype, device=w.device)
                    w.add_(noise)
                    self._added.append((w, noise))

    @torch.no_grad()
    def _restore(self) -> None:
        for w, noise in self._added:
            w.sub_(noise)
        self._added = []

    def on_fit_end(self, run) -> None:
        self._restore()
        for undo in reversed(self._undo):
            undo()
        self._undo = []

    def __repr__(self) -> str:
        return f"WeightNoise(sigma={self.sigma:g})"
