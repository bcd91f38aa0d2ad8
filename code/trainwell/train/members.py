"""``tw.train.members``: the members of a run, M networks of one architecture run as one.

The members' parameters are stacked along a new first axis, so one batched kernel does the work of M
small ones: a linear layer becomes one batched matrix product (``baddbmm``) of the members' inputs
(M, B, in) with their weights (M, out, in); a convolution becomes one grouped convolution over the
members' channels side by side; a batch-norm layer becomes one ``F.batch_norm`` over M·C channels,
which is exactly per-member batch norm, since batch norm treats channels independently. A mini-batch
of small steps costs about the arithmetic of the M steps instead of M times the overhead of one.

Randomness stays per member: every member owns a generator, seeded as :func:`trainwell.train.fit`
seeds its run, and ``nn.Dropout`` draws each member's mask from it with the same call PyTorch makes
(``bernoulli_`` then division by the keep probability). Any other module without parameters (the
book's own dropout variants, noise layers) is run member by member with torch's global generator
swapped to that member's stream; so is any other layer with parameters (Part II's mask-explicit MLP,
DropConnect), each member on its own slices of the stacked parameters. So a member of a stacked run
is the same run as its separate :func:`~trainwell.train.fit`, up to the rounding of batched against
unbatched kernels.

Members that share optimizer hyperparameters form a *group*: each group's parameters are separate
leaf tensors (M_g, ...), so that an optimizer gets one param group per setting; they are concatenated
in the forward pass. Every elementwise optimizer then acts as M independent optimizers.

A single member is not stacked at all: its own module runs, on its own parameters, with its random
layers drawing from its stream, which is what :func:`~trainwell.train.fit` computes, kernel for kernel.
:func:`~trainwell.train.fit` itself trains its model as such a single member (``check_layers=False``:
any module, whatever its layers, since nothing is stacked).
Batched kernels and the view of every parameter as a stack of one would add a quarter to a small
network's step for nothing (measured: 0.30 against 0.24 ms forward and backward for the Figure 1
network on digits); ``params``, ``param`` and ``buffers`` still show (1, ...) views of it.
"""
from __future__ import annotations

import contextlib
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

#: Modules applied to the stacked tensor as they are: elementwise and deterministic.
ELEMENTWISE = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.GELU, nn.ELU, nn.LeakyReLU, nn.SiLU, nn.Softplus,
               nn.Identity, nn.Hardtanh, nn.ReLU6, nn.Mish, nn.Softsign, nn.Tanhshrink, nn.CELU, nn.SELU)
#: Modules that act on each channel of (N, C, H, W) separately: applied to the members' channels side by side.
PER_CHANNEL = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
BATCH_NORM = (nn.BatchNorm1d, nn.BatchNorm2d)


class StackError(ValueError):
    """A model that cannot be stacked (a layer kind fit_many does not know, members that differ)."""


def _leaves(model: nn.Module, prefix: str = ""):
    """(name, module) for the layers of ``model`` in call order; nn.Sequential containers are opened."""
    if isinstance(model, nn.Sequential):
        for name, child in model.named_children():
            yield from _leaves(child, f"{prefix}{name}.")
    else:
        yield prefix.rstrip("."), model


def _kind(module: nn.Module, name: str) -> str:
    """How the members run one layer: a batched kernel they share (linear, zero-padded convolution,
    batch norm, dropout, flatten, pooling, elementwise activations), or member by member (any other
    layer: ``per_member`` without parameters or buffers, ``member_module`` with them)."""
    has_state = any(True for _ in module.parameters()) or any(True for _ in module.buffers())
    if type(module) is nn.Linear:
        return "linear"
    if type(module) is nn.Conv2d and module.padding_mode == "zeros":
        return "conv"
    if type(module) in BATCH_NORM:
        return "batchnorm"
    if type(module) is nn.Dropout:
        return "dropout"
    if type(module) is nn.Flatten:
        return "flatten"
    if isinstance(module, ELEMENTWISE) and not has_state:
        return "elementwise"
    if type(module) in PER_CHANNEL:
        return "per_channel"
    if not has_state:
        return "per_member"
    return "member_module"  # parameters or buffers but no shared kernel: member by member


def _swap_rng(device: torch.device):
    """Get and set functions for torch's global generator of ``device``."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return (lambda: torch.cuda.get_rng_state(index)), (lambda s: torch.cuda.set_rng_state(s, index))
    return torch.get_rng_state, torch.set_rng_state


@contextlib.contextmanager
def member_rng(generator: torch.Generator):
    """Run a block with torch's global generator (of ``generator``'s device) in ``generator``'s
    state, and store the advanced state back into ``generator``; the global state is restored."""
    get, set_ = _swap_rng(generator.device)
    saved = get()
    set_(generator.get_state())
    try:
        yield
    finally:
        generator.set_state(get())
        set_(saved)


class _Handle:
    """What :meth:`StackedModel.register_forward_pre_hook` returns: ``remove()`` takes the hook away."""

    def __init__(self, hooks: dict, key: int):
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)


class StackedModel:
    """M copies of one architecture (``models``, built separately) trained side by side.

    ``group_sizes`` splits the members, in order, into groups that get separate parameter leaves (one
    optimizer param group each); ``generators`` gives each member its random stream (dropout and
    other random layers). The members' own modules are left untouched until :meth:`unstack`, but for
    a single member, whose own module is run and trained in place. ``check_layers=False`` (a single
    member only) runs any module as it is, without reading its layers; ``capture`` then is not
    available.
    """

    def __init__(self, models: Sequence[nn.Module], group_sizes: Sequence[int] | None = None,
                 generators: Sequence[torch.Generator] | None = None, *, check_layers: bool = True):
        models = list(models)
        if not models or not all(isinstance(m, nn.Module) for m in models):
            raise TypeError("StackedModel: models must be a non-empty list of torch.nn.Module")
        self.members = len(models)
        self._pre_hooks: dict[int, object] = {}
        self.group_sizes = list(group_sizes) if group_sizes is not None else [self.members]
        if sum(self.group_sizes) != self.members or min(self.group_sizes) < 1:
            raise ValueError(f"StackedModel: group_sizes {self.group_sizes} must be positive and add up to "
                             f"the {self.members} members")
        self.generators = list(generators) if generators is not None else None
        if self.generators is not None and len(self.generators) != self.members:
            raise ValueError(f"StackedModel: {len(self.generators)} generators for {self.members} members")
        self.template = models[0]  # for a single member, the module that runs and is trained
        if not check_layers:
            if self.members != 1:
                raise ValueError(f"StackedModel: check_layers=False is for a single member, got "
                                 f"{self.members}")
            self.training, self.layers, self._single = models[0].training, None, models[0]
            self._single_random = False
            self._bounds = [0, 1]
            self._own = dict(models[0].named_parameters())
            self._views = {n: [p.unsqueeze(0)] for n, p in self._own.items()}  # write through
            return  # the module's mode is left as it is (training sets it at every epoch)
        self.layers = [(name, module, _kind(module, name)) for name, module in _leaves(models[0])]
        names = [n for n, _ in models[0].named_parameters()]
        buffers = [n for n, _ in models[0].named_buffers()]
        layout = [(n, repr(mod)) for n, mod in _leaves(models[0])]
        shapes = [(n, p.shape) for n, p in models[0].named_parameters()]
        for i, m in enumerate(models[1:], start=1):
            if [(n, repr(mod)) for n, mod in _leaves(m)] != layout or \
                    [(n, p.shape) for n, p in m.named_parameters()] != shapes:
                raise StackError(f"fit_many: member {i} is not built like member 0 (other layers, settings "
                                 "or parameter shapes); build() must return the same architecture every time")
        self.training = True
        bounds = [0]
        for size in self.group_sizes:
            bounds.append(bounds[-1] + size)
        self._bounds = bounds
        self._single = models[0] if self.members == 1 else None
        self._single_random = any(kind in ("dropout", "per_member", "member_module")
                                  for _, _, kind in self.layers)
        if self._single is not None:  # the member's own leaves and buffers; (1, ...) views of them
            self._own = dict(models[0].named_parameters())
            self._views = {n: [p.unsqueeze(0)] for n, p in self._own.items()}  # write through
            self._single.train(True)
            return
        # A linear layer's stacked weight (M, out, in) is stored as its transpose (M, in, out) is laid
        # out: the product x @ Wᵀ then hands back its weight gradient in the leaf's own layout, which
        # autograd accumulates without a copy (a transposing copy of every weight gradient, every step,
        # costs more than the backward products themselves at 30 members of 784 inputs).
        self._transposed = {f"{prefix}.weight" if prefix else "weight"
                            for prefix, _, kind in self.layers if kind == "linear"}

        def leaf(name: str, a: int, b: int) -> torch.Tensor:
            value = torch.stack([dict(m.named_parameters())[name].detach() for m in models[a:b]])
            if name in self._transposed:
                return value.transpose(1, 2).contiguous().transpose(1, 2).requires_grad_(True)
            return value.clone().requires_grad_(True)

        with torch.no_grad():
            # one leaf per (parameter, group): (M_g, *shape)
            self._params = {n: [leaf(n, a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
                            for n in names}
            self._buffers = {n: torch.stack([dict(m.named_buffers())[n].detach() for m in models]).clone()
                             for n in buffers}

    @classmethod
    def one(cls, model: nn.Module) -> StackedModel:
        """One model as the only member of a run, run as it is (any layers): the view through which
        the callbacks and penalties written for a run's members act on a single model."""
        return cls([model], check_layers=False)

    # -- parameters -------------------------------------------------------------------------------
    @property
    def params(self) -> dict[str, list[torch.Tensor]]:
        """For every parameter name, its stacked (M_g, *shape) tensor of each group: the leaves, or
        for a single member (1, *shape) views of its own parameters (written through in place)."""
        if self._single is None:
            return self._params
        return self._views

    @property
    def buffers(self) -> dict[str, torch.Tensor]:
        """For every buffer name, its stacked (M, *shape) tensor; for a single member, (1, *shape)
        views of its own buffers as they are now (a module may replace a buffer while it trains)."""
        if self._single is None:
            return self._buffers
        return {n: b.unsqueeze(0) for n, b in self._single.named_buffers()}

    def leaves(self, name: str) -> list[torch.Tensor]:
        """The tensors an optimizer holds for parameter ``name``, one per group: the stacked leaves,
        or a single member's own parameter (its own shape). A callback that changes parameters in
        place by the optimizer's bookkeeping (its learning rate, its state) wants these."""
        if self._single is not None:
            return [self._own[name]]
        return self._params[name]

    def param_groups(self) -> list[list[torch.Tensor]]:
        """The parameter leaves of each group, for one optimizer param group per group."""
        if self._single is not None:
            return [list(self._own.values())]
        return [[leaves[g] for leaves in self._params.values()] for g in range(len(self.group_sizes))]

    def parameters(self) -> list[torch.Tensor]:
        return [p for group in self.param_groups() for p in group]

    def param(self, name: str) -> torch.Tensor:
        """The stacked (M, *shape) value of parameter ``name`` (all groups concatenated)."""
        leaves = self.params[name]
        return leaves[0] if len(leaves) == 1 else torch.cat(leaves)

    def _get(self, prefix: str, attr: str):
        key = f"{prefix}.{attr}" if prefix else attr
        if key in self.params:
            return self.param(key)
        return self.buffers.get(key)

    def train(self, mode: bool = True) -> StackedModel:
        self.training = bool(mode)
        if self._single is not None:
            self._single.train(self.training)
        return self

    def eval(self) -> StackedModel:
        return self.train(False)

    # -- forward ----------------------------------------------------------------------------------
    def __call__(self, x: torch.Tensor, *, shared: bool = False, capture: Sequence[int] = ()):
        for hook in list(self._pre_hooks.values()):
            hook(self)
        return self.forward(x, shared=shared, capture=capture)

    def register_forward_pre_hook(self, hook) -> _Handle:
        """Call ``hook(members)`` before every forward pass (in either mode: the hook reads
        ``members.training``), as ``nn.Module.register_forward_pre_hook`` does for one module;
        returns a handle whose ``remove()`` takes it away."""
        if not callable(hook):
            raise TypeError(f"register_forward_pre_hook: hook must be a function, got {type(hook).__name__}")
        key = max(self._pre_hooks, default=-1) + 1
        self._pre_hooks[key] = hook
        return _Handle(self._pre_hooks, key)

    def rng(self, m: int):
        """A context in which torch's global generator is member ``m``'s random stream (nothing changes
        when the members have no streams of their own: :func:`~trainwell.train.fit` seeds the global
        generator for its run)."""
        self._locate(m)
        if self.generators is None:
            return contextlib.nullcontext()
        return member_rng(self.generators[m])

    def member_params(self, m: int, names: Sequence[str]) -> list[torch.Tensor]:
        """Member ``m``'s slice of every parameter in ``names``, in that order: views that write
        through to the tensors the optimizer trains."""
        g, i = self._locate(m)
        return [self.params[n][g][i] for n in names]

    def forward(self, x: torch.Tensor, *, shared: bool = False, capture: Sequence[int] = ()):
        """Run every member: ``x`` is (M, B, ...) with each member's own batch, or, with ``shared``,
        one batch (B, ...) that every member sees. Returns (M, B, ...); with ``capture``, also the
        outputs of those layer positions (indices into the opened ``nn.Sequential``), as a list."""
        M = self.members
        if not shared and x.shape[0] != M:
            raise ValueError(f"StackedModel: x must have the {M} members along dimension 0, "
                             f"got {tuple(x.shape)}")
        if self._single is not None:
            return self._forward_single(x if shared else x[0], capture)
        if shared:
            x = x.unsqueeze(0).expand(M, *x.shape)
        captured = []
        for position, (prefix, module, kind) in enumerate(self.layers):
            x = getattr(self, "_" + kind)(x, prefix, module)
            if position in capture or position - len(self.layers) in capture:
                captured.append(x)
        return (x, captured) if capture else x

    def _forward_single(self, x, capture):
        """The one member's own layers on its (B, ...) batch, as fit runs them; outputs (1, B, ...)."""
        if self.layers is None:  # any module, run whole (check_layers=False)
            if capture:
                raise ValueError("StackedModel: capture needs the layers read (check_layers=True)")
            return self._single(x).unsqueeze(0)
        captured = []
        random = self._single_random and self.training and self.generators is not None
        with member_rng(self.generators[0]) if random else contextlib.nullcontext():
            for position, (_, module, kind) in enumerate(self.layers):
                if kind == "flatten":
                    self._flatten_dims(module, x.ndim + 1)  # what the stacked path refuses, refused
                x = module(x)
                if position in capture or position - len(self.layers) in capture:
                    captured.append(x.unsqueeze(0))
        x = x.unsqueeze(0)
        return (x, captured) if capture else x

    def _linear(self, x, prefix, module):
        leaves = self.params[f"{prefix}.weight" if prefix else "weight"]
        wt = leaves[0].transpose(1, 2) if len(leaves) == 1 else torch.cat([w.transpose(1, 2) for w in leaves])
        bias = self._get(prefix, "bias")  # wt: (M, in, out), contiguous
        x3 = x if x.ndim == 3 else x.reshape(x.shape[0], -1, x.shape[-1])
        out = torch.bmm(x3, wt) if bias is None else torch.baddbmm(bias.unsqueeze(1), x3, wt)
        return out if x.ndim == 3 else out.view(*x.shape[:-1], out.shape[-1])

    @staticmethod
    def _side_by_side(x):
        """(M, B, C, ...) -> (B, M·C, ...): the members' channels next to each other."""
        M, B = x.shape[:2]
        return x.transpose(0, 1).reshape(B, M * x.shape[2], *x.shape[3:])

    @staticmethod
    def _unside(y, M):
        B = y.shape[0]
        return y.view(B, M, y.shape[1] // M, *y.shape[2:]).transpose(0, 1)

    def _conv(self, x, prefix, module):
        M = self.members
        weight = self._get(prefix, "weight")  # (M, out, in/groups, kh, kw)
        bias = self._get(prefix, "bias")
        y = F.conv2d(self._side_by_side(x), weight.reshape(-1, *weight.shape[2:]),
                     None if bias is None else bias.reshape(-1), module.stride, module.padding,
                     module.dilation, module.groups * M)
        return self._unside(y, M)

    def _batchnorm(self, x, prefix, module):
        M = self.members
        weight, bias = self._get(prefix, "weight"), self._get(prefix, "bias")
        mean, var = self._get(prefix, "running_mean"), self._get(prefix, "running_var")
        tracked = self._get(prefix, "num_batches_tracked")
        momentum = 0.0 if module.momentum is None else module.momentum
        if self.training and module.track_running_stats and tracked is not None:
            tracked.add_(1)
            momentum = 1.0 / float(tracked[0]) if module.momentum is None else module.momentum
        use_batch = self.training or (mean is None and var is None)
        if self.training and not module.track_running_stats:  # statistics kept but not updated
            mean = var = None
        if x.ndim == 3:  # BatchNorm1d on (M, B, C): channels side by side need (B, M·C)
            xs = x.transpose(0, 1).reshape(x.shape[1], -1)
        else:
            xs = self._side_by_side(x)
        y = F.batch_norm(xs, None if mean is None else mean.view(-1), None if var is None else var.view(-1),
                         None if weight is None else weight.reshape(-1),
                         None if bias is None else bias.reshape(-1),
                         use_batch, momentum, module.eps)
        if x.ndim == 3:
            return y.view(x.shape[1], M, -1).transpose(0, 1)
        return self._unside(y, M)

    def _dropout(self, x, prefix, module):
        if not self.training or module.p == 0:
            return x
        if module.p == 1:
            return x * 0.0
        keep = 1.0 - module.p
        mask = torch.empty(x.shape, dtype=x.dtype, device=x.device)
        for m in range(self.members):  # each member's mask from its own stream, as F.dropout draws it
            mask[m].bernoulli_(keep, generator=None if self.generators is None else self.generators[m])
        return x * mask.div_(keep)

    @staticmethod
    def _flatten_dims(module, ndim: int) -> tuple[int, int]:
        """The dimensions of a stacked (M, B, ...) tensor of ``ndim`` dimensions that ``module``
        (an nn.Flatten of the member's (B, ...) tensors) flattens."""
        start = module.start_dim + 1 if module.start_dim >= 0 else ndim + module.start_dim
        end = module.end_dim + 1 if module.end_dim >= 0 else ndim + module.end_dim
        if start <= 1:
            raise StackError("fit_many: a Flatten over the batch dimension cannot be stacked")
        return start, end

    def _flatten(self, x, prefix, module):
        return x.flatten(*self._flatten_dims(module, x.ndim))

    def _elementwise(self, x, prefix, module):
        return module(x)

    def _per_channel(self, x, prefix, module):
        return self._unside(module(self._side_by_side(x)), self.members)

    def _per_member(self, x, prefix, module):
        module.train(self.training)
        outs = []
        for m in range(self.members):
            with self.rng(m):
                outs.append(module(x[m]))
        return torch.stack(outs)

    def _member_module(self, x, prefix, module):
        """A layer with parameters or buffers but no kernel the members can share (Part II's
        mask-explicit MLP, DropConnect; a custom layer): each member runs ``module``'s own forward on
        its own slices of the stacked tensors (``torch.func.functional_call``), drawing from its own
        stream. Slower than a shared kernel (M forward calls), and the same numbers as the member's
        own module. A buffer the layer updates in place is updated in the stack; one it replaces is
        not kept."""
        own = [n for n, _ in module.named_parameters()] + [n for n, _ in module.named_buffers()]
        full = {n: f"{prefix}.{n}" if prefix else n for n in own}
        module.train(self.training)
        outs = []
        for m in range(self.members):
            g, i = self._locate(m)
            tensors = {n: self.params[k][g][i] if k in self.params else self.buffers[k][m]
                       for n, k in full.items()}
            with self.rng(m):
                outs.append(torch.func.functional_call(module, tensors, (x[m],)))
        return torch.stack(outs)

    # -- members ----------------------------------------------------------------------------------
    def _locate(self, m: int) -> tuple[int, int]:
        for g in range(len(self.group_sizes)):
            if self._bounds[g] <= m < self._bounds[g + 1]:
                return g, m - self._bounds[g]
        raise IndexError(f"member {m} of {self.members}")

    @torch.no_grad()
    def member_state(self, m: int) -> dict[str, torch.Tensor]:
        """A copy of member ``m``'s parameters and buffers, by the names of its own module."""
        g, i = self._locate(m)
        state = {n: leaves[g][i].clone() for n, leaves in self.params.items()}
        state.update({n: b[m].clone() for n, b in self.buffers.items()})
        return state

    @torch.no_grad()
    def load_member_state(self, m: int, state: dict[str, torch.Tensor]) -> None:
        g, i = self._locate(m)
        for n, leaves in self.params.items():
            leaves[g][i].copy_(state[n])
        for n, b in self.buffers.items():
            b[m].copy_(state[n])

    @torch.no_grad()
    def unstack(self, models: Sequence[nn.Module]) -> list[nn.Module]:
        """Copy each member's parameters and buffers into ``models[m]`` (the modules it was built
        from), which then hold the trained networks; returns them."""
        for m, model in enumerate(models):
            state = self.member_state(m)
            own = dict(model.named_parameters())
            own.update(dict(model.named_buffers()))
            for n, value in state.items():
                own[n].copy_(value)
        return list(models)
