"""``tw.models``: every network the book trains, and the small utilities that act on a whole model.

Builders: :func:`mlp` (fully connected, with optional normalization, noise layers, custom linear
layers and initialization), :func:`figure1_net` (the batch-norm paper's Figure 1 network),
:func:`bn_dropout_mlp` (dropout placed around batch norm) and :func:`small_convnet`. Networks whose
layers come from a part of the book (dropout's masked networks, DropConnect) are built by that
part, from these builders where they fit.

Utilities: :func:`eval_mode` / :func:`train_mode` (switch a model's mode for a block of code and
restore every submodule's own mode), :func:`count_parameters`, :func:`is_batch_norm`,
:func:`batch_norm_layers`, and :func:`recompute_population_stats` (Algorithm 2 of the batch-norm
paper applied to every batch-norm layer of a trained network).
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence

import torch
from torch import nn

from ._validate import check_bool, check_choice, check_float, check_int
from .config import module_device

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "identity": nn.Identity,
}


# ------------------------------------------------------------------------------------------------
# Modes


def _mode(model: nn.Module, training: bool):
    # Checked here, when eval_mode(model) is called, not later when the block is entered.
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return _switched(model, training)


@contextlib.contextmanager
def _switched(model: nn.Module, training: bool) -> Iterator[nn.Module]:
    saved = [(m, m.training) for m in model.modules()]
    model.train(training)
    try:
        yield model
    finally:
        for module, was_training in saved:
            module.training = was_training


def eval_mode(model: nn.Module):
    """``with eval_mode(model): ...`` runs the block with ``model`` in eval mode (dropout off, batch
    norm on its running statistics) and afterwards gives every submodule back its own mode, even
    when the block raises, and even when submodules were in different modes before."""
    return _mode(model, False)


def train_mode(model: nn.Module):
    """``with train_mode(model): ...``: the same as :func:`eval_mode`, in training mode."""
    return _mode(model, True)


# ------------------------------------------------------------------------------------------------
# Builders


def _widths(name: str, values) -> list[int]:
    """``values`` as a list of positive integer widths; a bare number or a string is refused rather than
    iterated (``mlp(784)`` or ``channels=16`` is a common slip)."""
    if isinstance(values, torch.Tensor):
        values = values.tolist() if values.ndim == 1 else values
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a list of integer widths such as [64, 32, 10], got {values!r} "
                        f"({type(values).__name__})")
    return [check_int(f"{name}[{i}]", v, minimum=1) for i, v in enumerate(list(values))]


def layer_sizes(data, hidden, *, min_hidden: int = 0) -> list[int]:
    """The widths of an MLP for a classification dataset: ``[data.n_features, *hidden, data.n_classes]``.

    ``hidden`` may be empty (a linear classifier) unless ``min_hidden`` asks for hidden layers."""
    widths = _widths("hidden", hidden)
    if len(widths) < check_int("min_hidden", min_hidden, minimum=0):
        raise ValueError(f"hidden is empty or too short: got {widths}, this network needs at least "
                         f"{min_hidden} hidden layer(s), e.g. (256, 256)")
    n_in, n_out = getattr(data, "n_features", None), getattr(data, "n_classes", None)
    if not isinstance(n_in, int) or not isinstance(n_out, int):
        raise TypeError(f"data must be a classification Dataset (with integer n_features and n_classes), "
                        f"got {type(data).__name__} with n_features={n_in!r}, n_classes={n_out!r}")
    return [n_in, *widths, n_out]


def _built(name: str, factory, *args, **kwargs) -> nn.Module:
    """Call a user's layer factory and insist that it returned a module."""
    module = factory(*args, **kwargs)
    if not isinstance(module, nn.Module):
        raise TypeError(f"{name} must build a torch.nn.Module, but {name}(...) returned "
                        f"{type(module).__name__}")
    return module


def mlp(sizes: Sequence[int], *, activation: str = "relu", hidden_dropout: float = 0.0,
        input_dropout: float = 0.0, norm: Callable[[int], nn.Module] | None = None,
        noise: Callable[[], nn.Module] | None = None,
        linear: Callable[..., nn.Module] | None = None, bias: bool = True,
        init_std: float | None = None) -> nn.Sequential:
    """A fully connected network ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``.

    Each hidden layer is ``linear -> [norm] -> activation -> [noise] -> [Dropout]``; the last layer
    is a plain ``nn.Linear`` (logits or regression outputs).

    - ``hidden_dropout`` and ``input_dropout`` are PyTorch *drop* probabilities of ``nn.Dropout``
      (the dropout chapter writes the inclusion probability π = 1 − p; see its notation table).
    - ``norm(width)`` builds a normalization layer, e.g. ``nn.BatchNorm1d``.
    - ``noise()`` builds a module inserted after every hidden activation (e.g. Gaussian dropout).
    - ``linear(in, out, bias=...)`` builds the hidden layers (default ``nn.Linear``), e.g. a
      DropConnect layer; ``bias`` applies to every layer.
    - ``init_std``: draw every weight from N(0, init_std²) and set every bias to zero, after the
      layers' default initialization (as the batch-norm paper's Figure 1 network is initialized).
    """
    sizes = _widths("sizes", sizes)
    if len(sizes) < 2:
        raise ValueError(f"mlp: sizes needs at least an input and an output width, got {sizes}")
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a name, one of {tuple(ACTIVATIONS)}, got {activation!r}")
    check_choice("activation", activation, tuple(ACTIVATIONS))
    below_one = {"minimum": 0.0, "maximum": 1.0, "max_inclusive": False}
    hidden_dropout = check_float("hidden_dropout", hidden_dropout, **below_one)
    input_dropout = check_float("input_dropout", input_dropout, **below_one)
    bias = check_bool("bias", bias)
    for name, factory in (("norm", norm), ("noise", noise), ("linear", linear)):
        if factory is not None and not callable(factory):
            raise TypeError(f"{name} must be a function that builds a module, got {type(factory).__name__}")
    if init_std is not None:
        init_std = check_float("init_std", init_std, minimum=0.0, min_inclusive=False)
    make_linear = nn.Linear if linear is None else linear

    layers: list[nn.Module] = [nn.Dropout(input_dropout)] if input_dropout > 0 else []
    for width_in, width_out in zip(sizes[:-2], sizes[1:-1], strict=True):
        layers.append(_built("linear", make_linear, width_in, width_out, bias=bias))
        if norm is not None:
            layers.append(_built("norm", norm, width_out))
        layers.append(ACTIVATIONS[activation]())
        if noise is not None:
            layers.append(_built("noise", noise))
        if hidden_dropout > 0:
            layers.append(nn.Dropout(hidden_dropout))
    layers.append(nn.Linear(sizes[-2], sizes[-1], bias=bias))
    net = nn.Sequential(*layers)
    if init_std is not None:
        _gaussian_init_(net, init_std)
    return net


def figure1_net(n_in: int, n_out: int, *, bn: bool, hidden: int = 100, depth: int = 3,
                init_std: float = 0.1) -> nn.Sequential:
    """The network of the batch-norm paper's Figure 1 (section `bn-figure1`): ``depth`` fully
    connected hidden layers of ``hidden`` sigmoid units, weights drawn from N(0, init_std²), biases
    zero. With ``bn=True`` every hidden layer is Linear → BatchNorm1d → sigmoid and the Linear has no
    bias (β takes its place). The last sigmoid's input is ``net[-3]``'s output in both variants."""
    n_in = check_int("n_in", n_in, minimum=1)
    n_out = check_int("n_out", n_out, minimum=1)
    bn = check_bool("bn", bn)
    hidden = check_int("hidden", hidden, minimum=1)
    depth = check_int("depth", depth, minimum=1)
    init_std = check_float("init_std", init_std, minimum=0.0, min_inclusive=False)
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(depth):
        layers.append(nn.Linear(width, hidden, bias=not bn))
        if bn:
            layers.append(nn.BatchNorm1d(hidden))
        layers.append(nn.Sigmoid())
        width = hidden
    layers.append(nn.Linear(width, n_out))
    net = nn.Sequential(*layers)
    _gaussian_init_(net, init_std)
    return net


def _gaussian_init_(net: nn.Module, std: float) -> None:
    """Every linear layer's weights from N(0, std²), its bias (if any) zero."""
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)


BN_DROPOUT_PLACEMENTS = ("every", "last", "none")


def bn_dropout_mlp(sizes, *, keep: float = 0.5, placement: str = "every") -> nn.Sequential:
    """A batch-normalized ReLU network ``sizes[0] -> ... -> sizes[-1]`` with PyTorch's ``nn.Dropout``
    (drop probability 1 − ``keep``) placed in one of three ways (section `dropout-practice`):

    * ``"every"``: Linear → BN → ReLU → Dropout in every hidden layer, so every batch-norm layer but
      the first sees the output of a dropout layer (through a linear layer): the variance shift;
    * ``"last"``: Linear → BN → ReLU in every hidden layer and one Dropout after the last, so no
      batch-norm layer comes after a dropout layer (one remedy of Li et al. 2019);
    * ``"none"``: no dropout.

    The output layer is a plain ``nn.Linear``; the linear layers before a BN have no bias (BN's β
    replaces it).
    """
    check_choice("placement", placement, BN_DROPOUT_PLACEMENTS)
    keep = check_float("keep", keep, minimum=0.0, maximum=1.0, min_inclusive=False)
    sizes = _widths("sizes", sizes)
    if len(sizes) < 3:
        raise ValueError(f"bn_dropout_mlp needs at least one hidden layer, got sizes {sizes}")
    layers: list[nn.Module] = []
    hidden = list(zip(sizes[:-2], sizes[1:-1], strict=True))
    for i, (a, b) in enumerate(hidden):
        layers += [nn.Linear(a, b, bias=False), nn.BatchNorm1d(b), nn.ReLU()]
        if placement == "every" or (placement == "last" and i == len(hidden) - 1):
            layers.append(nn.Dropout(1.0 - keep))
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


BN_POSITIONS = ("none", "before", "after")


def small_convnet(n_classes: int = 10, *, bn: str = "before", channels: Sequence[int] = (16, 32),
                  in_channels: int = 1) -> nn.Sequential:
    """A small convolutional network for images such as the 1×8×8 digits (section `bn-conv-lr`).

    ``bn="before"``: conv → BatchNorm2d → ReLU, as in the paper (the conv then has no bias, since β
    replaces it); ``"after"``: conv → ReLU → BatchNorm2d; ``"none"``: conv → ReLU. Every conv is
    3×3 with padding 1; global average pooling and a linear layer give the class scores.
    """
    check_choice("bn", bn, BN_POSITIONS)
    n_classes = check_int("n_classes", n_classes, minimum=1)
    width = check_int("in_channels", in_channels, minimum=1)
    channels = _widths("channels", channels)
    if not channels:
        raise ValueError("small_convnet: channels must list at least one convolution width")
    layers: list[nn.Module] = []
    for out in channels:
        layers.append(nn.Conv2d(width, out, 3, padding=1, bias=bn != "before"))
        if bn == "before":
            layers += [nn.BatchNorm2d(out), nn.ReLU()]
        elif bn == "after":
            layers += [nn.ReLU(), nn.BatchNorm2d(out)]
        else:
            layers.append(nn.ReLU())
        width = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, n_classes)]
    return nn.Sequential(*layers)


# ------------------------------------------------------------------------------------------------
# Utilities on a whole model


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars in ``model``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


#: PyTorch's batch-norm layers. A module of another class counts as batch norm when its class sets
#: ``normalizes_over_batch = True`` (the book's from-scratch ``BatchNorm`` does).
TORCH_BATCH_NORM_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def is_batch_norm(module) -> bool:
    """True for PyTorch's batch-norm layers and for layers that declare ``normalizes_over_batch``."""
    return isinstance(module, TORCH_BATCH_NORM_TYPES) or bool(getattr(type(module), "normalizes_over_batch",
                                                                      False))


#: Layers whose ``weight`` multiplies the layer's input (an embedding is a linear map of a one-hot input).
WEIGHT_LAYERS = (nn.Linear, nn.Bilinear, nn.modules.conv._ConvNd, nn.Embedding, nn.EmbeddingBag)


def _is_weight(layer: nn.Module, name: str) -> bool:
    if isinstance(layer, WEIGHT_LAYERS):
        return name == "weight"
    if isinstance(layer, nn.MultiheadAttention):  # in_proj_weight, q/k/v_proj_weight (out_proj is a Linear)
        return name.endswith("proj_weight")
    if isinstance(layer, nn.RNNBase):  # weight_ih_l0, weight_hh_l0_reverse, weight_hr_l0, ...
        return name.startswith("weight_")
    return False


def weight_names(model: nn.Module) -> list[str]:
    """The names (as in ``model.named_parameters()``) of the parameters that are *weights*: those
    that multiply a layer's input, in linear, bilinear, convolutional (any dimension and transposed),
    embedding, attention and recurrent layers. Not weights: every bias (``bias``, ``in_proj_bias``,
    ``bias_k``, ``bias_ih_l0``, ...), the scales and shifts of normalization layers, activation
    parameters such as PReLU's slopes, and the parameters of any other layer.

    The one rule of the book for "which parameters are weights": the norm penalties, max-norm and
    weight noise of Part I take these by default, :func:`trainwell.together.weight_decay_groups`
    decays exactly these, and :func:`trainwell.together.lint` flags decay on anything else."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    owner: dict[int, tuple[nn.Module, str]] = {}
    for layer in model.modules():
        for name, p in layer.named_parameters(recurse=False):
            owner.setdefault(id(p), (layer, name))
    return [full for full, p in model.named_parameters() if _is_weight(*owner[id(p)])]


def batch_norm_layers(model: nn.Module, *, tracking: bool = True) -> list[tuple[str, nn.Module]]:
    """``(name, layer)`` for every batch-norm layer of ``model`` (with ``tracking``, only those that keep
    running statistics). Raises ``ValueError`` when there is none."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    tracking = check_bool("tracking", tracking)
    found = [(name, m) for name, m in model.named_modules()
             if is_batch_norm(m) and (not tracking or m.track_running_stats)]
    if not found:
        raise ValueError("model has no batch-norm layer" + (" with running statistics" if tracking else ""))
    return found


@torch.no_grad()
def recompute_population_stats(model: nn.Module, X: torch.Tensor, batch_size: int) -> int:
    """Replace the running statistics of every batch-norm layer of ``model`` by Algorithm 2's
    population statistics over ``X`` (section `bn-inference`).

    The weights stay fixed; ``X`` is cut into consecutive mini-batches of ``batch_size`` (a last,
    smaller batch is dropped, since Algorithm 2 averages batches of one size m), each layer's
    statistics are reset and averaged with equal weights (PyTorch's ``momentum=None``), giving
    E[x] = E_B[μ_B] and Var[x] = m/(m − 1)·E_B[σ²_B]. Everything is checked before any statistic is
    touched; if the forward passes fail, the layers' previous statistics are put back. The layers'
    momenta and every module's mode are restored; ``X`` is moved to the model's device. Returns the
    number of batches used.
    """
    batch_size = check_int("batch_size", batch_size, minimum=2)
    if not isinstance(X, torch.Tensor) or X.ndim < 2:
        got = f"shape {tuple(X.shape)}" if isinstance(X, torch.Tensor) else type(X).__name__
        raise ValueError(f"X must be a tensor of examples, shape (N, ...), got {got}")
    n_batches = X.shape[0] // batch_size
    if n_batches < 1:
        raise ValueError(f"X has {X.shape[0]} rows, fewer than one batch of {batch_size}")
    if not torch.isfinite(X).all():
        raise ValueError("X contains NaN or infinite values; the statistics would be NaN")
    layers = [m for _, m in batch_norm_layers(model)]
    saved = [(layer.momentum, {k: v.clone() for k, v in layer.state_dict().items()
                               if k in ("running_mean", "running_var", "num_batches_tracked")})
             for layer in layers]
    X = X.to(module_device(model, X.device))
    try:
        with train_mode(model):
            for layer in layers:
                layer.reset_running_stats()
                layer.momentum = None
            for k in range(n_batches):
                model(X[k * batch_size:(k + 1) * batch_size])
    except BaseException:
        for layer, (_, buffers) in zip(layers, saved, strict=True):
            layer.load_state_dict(buffers, strict=False)
        raise
    finally:
        for layer, (momentum, _) in zip(layers, saved, strict=True):
            layer.momentum = momentum
    return n_batches
