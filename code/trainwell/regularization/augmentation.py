"""Data augmentation: label-preserving transformations of the training images, drawn afresh for every
mini-batch, for ``fit(..., transform=...)`` (section `reg-augmentation`).

A batch of images arrives either flat, (N, C·H·W) as the book's datasets store them, or as
(N, C, H, W) (or (N, H, W) when ``image_shape`` is (H, W)); every transform gives back the batch in
its own shape and dtype. The random ones draw from torch's global generator, which ``fit`` and
``fit_many`` seed per run and member, so a run is reproducible from its seed. Flips are left out on
purpose: they change the label of digits.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from .._validate import check_float, check_int


def _check_image_shape(image_shape) -> tuple[int, int, int]:
    """``image_shape`` as (C, H, W); (H, W) means one channel."""
    if isinstance(image_shape, (str, bytes)) or not isinstance(image_shape, Sequence) or \
            len(image_shape) not in (2, 3):
        raise TypeError(f"image_shape must be (H, W) or (C, H, W), got {image_shape!r}")
    sizes = [check_int(f"image_shape[{i}]", s, minimum=1) for i, s in enumerate(image_shape)]
    return tuple(sizes) if len(sizes) == 3 else (1, *sizes)


def _as_images(x, image_shape: tuple[int, int, int], given: tuple[int, ...], who: str) -> torch.Tensor:
    """The batch ``x`` as (N, C, H, W), a view; refuses a batch whose examples are not such images."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        got = f"dtype {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise TypeError(f"{who}: x must be a floating-point tensor, got {got}")
    example = tuple(x.shape[1:])
    if x.ndim >= 2 and example in ((math.prod(image_shape),), image_shape, given):
        return x.reshape(x.shape[0], *image_shape)
    raise ValueError(f"{who}: x of shape {tuple(x.shape)} is not a batch of images of shape {given} "
                     f"(allowed: (N, {math.prod(image_shape)}) flat, or (N, {', '.join(map(str, given))}))")


def shift_images(x: torch.Tensor, offsets: torch.Tensor, image_shape) -> torch.Tensor:
    """Translate every image of the batch ``x`` by whole pixels, filling with zeros: image n moves
    ``offsets[n, 0]`` rows down and ``offsets[n, 1]`` columns right (negative: up, left), so that
    out[n, :, i, j] = x[n, :, i − offsets[n, 0], j − offsets[n, 1]] where that pixel exists. Exact
    (a copy, no interpolation). ``offsets``: an integer tensor (N, 2), each |offset| smaller than the
    image's height or width."""
    C, H, W = shape = _check_image_shape(image_shape)
    images = _as_images(x, shape, tuple(image_shape), "shift_images")
    if not isinstance(offsets, torch.Tensor) or offsets.is_floating_point() or offsets.is_complex() \
            or offsets.dtype == torch.bool:
        raise TypeError(f"offsets must be an integer tensor of shape (N, 2), got "
                        f"{offsets.dtype if isinstance(offsets, torch.Tensor) else type(offsets).__name__}")
    N = images.shape[0]
    if tuple(offsets.shape) != (N, 2):
        raise ValueError(f"offsets must have shape ({N}, 2), one (down, right) pair per image, got "
                         f"{tuple(offsets.shape)}")
    if N and (offsets[:, 0].abs().max() >= H or offsets[:, 1].abs().max() >= W):
        raise ValueError(f"offsets must be smaller than the image ({H} rows, {W} columns) in absolute value, "
                         f"got a largest |offset| of {int(offsets.abs().max())}")
    offsets = offsets.to(device=x.device, dtype=torch.long)
    k = int(offsets.abs().max()) if N else 0
    if k == 0:
        return x.clone()
    padded = F.pad(images, (k, k, k, k)).permute(0, 2, 3, 1)  # (N, H + 2k, W + 2k, C), zeros around
    rows = torch.arange(H, device=x.device) + k - offsets[:, :1]  # (N, H): source row of each output row
    cols = torch.arange(W, device=x.device) + k - offsets[:, 1:]  # (N, W)
    which = torch.arange(N, device=x.device)[:, None, None]
    moved = padded[which, rows[:, :, None], cols[:, None, :]]  # (N, H, W, C)
    return moved.permute(0, 3, 1, 2).reshape(x.shape)


def rotate_images(x: torch.Tensor, degrees, image_shape) -> torch.Tensor:
    """Rotate every image of the batch ``x`` about its centre by ``degrees`` (a number for all, or a
    tensor (N,) of one angle per image; positive is counter-clockwise on an image whose row 0 is at
    the top), sampling with bilinear interpolation and zero fill (``F.affine_grid`` and
    ``F.grid_sample``, ``align_corners=False``). The affine map is written in pixel units, so
    non-square images rotate without shear."""
    C, H, W = shape = _check_image_shape(image_shape)
    images = _as_images(x, shape, tuple(image_shape), "rotate_images")
    N = images.shape[0]
    if isinstance(degrees, torch.Tensor):
        if tuple(degrees.shape) != (N,) or not degrees.is_floating_point():
            raise ValueError(f"degrees must be a number or a floating-point tensor of shape ({N},), one "
                             f"angle per image, got {degrees.dtype} of shape {tuple(degrees.shape)}")
        if not bool(torch.isfinite(degrees).all()):
            raise ValueError("degrees holds non-finite values (NaN or inf)")
        angles = degrees.to(device=x.device, dtype=x.dtype)
    elif isinstance(degrees, numbers.Real) and not isinstance(degrees, bool):
        angles = torch.full((N,), check_float("degrees", degrees), device=x.device, dtype=x.dtype)
    else:
        raise TypeError(f"degrees must be a number or a tensor of angles, got {type(degrees).__name__}")
    radians = torch.deg2rad(angles)
    cos, sin = torch.cos(radians), torch.sin(radians)
    zero = torch.zeros_like(cos)
    # Output pixel (column u, row v) samples the input at the inverse rotation of (u, v) about the centre;
    # rows grow downwards, so a counter-clockwise turn on screen is (u, v) -> (u cos + v sin, -u sin + v cos)
    # and its inverse is the transpose. grid_sample's [-1, 1] coordinates scale u by W/2 and v by H/2,
    # hence the aspect ratios.
    theta = torch.stack([torch.stack([cos, -sin * H / W, zero], 1),
                         torch.stack([sin * W / H, cos, zero], 1)], 1)  # (N, 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    turned = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return turned.reshape(x.shape)


class RandomShift:
    """Shift every image by its own random whole-pixel offsets, drawn uniformly from
    {−max_shift, ..., max_shift} for rows and for columns, with zero fill (:func:`shift_images`):
    ``fit(..., transform=RandomShift(2, (1, 28, 28)))``. ``max_shift=0`` returns the batch itself."""

    def __init__(self, max_shift: int, image_shape):
        self.image_shape = tuple(image_shape) if isinstance(image_shape, Sequence) else image_shape
        C, H, W = _check_image_shape(image_shape)
        self.max_shift = check_int("max_shift", max_shift, minimum=0)
        if self.max_shift >= min(H, W):
            raise ValueError(f"Invalid max_shift: {max_shift} (must be smaller than the image's {H} rows and "
                             f"{W} columns, or every pixel could leave it)")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        images = _as_images(x, _check_image_shape(self.image_shape), self.image_shape, "RandomShift")
        if self.max_shift == 0:
            return x
        k = self.max_shift
        offsets = torch.randint(-k, k + 1, (images.shape[0], 2), device=x.device)
        return shift_images(x, offsets, self.image_shape)

    def __repr__(self) -> str:
        return f"RandomShift(max_shift={self.max_shift}, image_shape={self.image_shape})"


class RandomRotation:
    """Rotate every image by its own random angle, uniform in [−max_degrees, max_degrees], with
    bilinear interpolation and zero fill (:func:`rotate_images`): small rotations keep a digit's
    label. ``max_degrees=0`` returns the batch itself."""

    def __init__(self, max_degrees: float, image_shape):
        self.image_shape = tuple(image_shape) if isinstance(image_shape, Sequence) else image_shape
        _check_image_shape(image_shape)
        self.max_degrees = check_float("max_degrees", max_degrees, minimum=0.0, maximum=180.0)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        images = _as_images(x, _check_image_shape(self.image_shape), self.image_shape, "RandomRotation")
        if self.max_degrees == 0:
            return x
        angles = (2 * torch.rand(images.shape[0], device=x.device, dtype=x.dtype) - 1) * self.max_degrees
        return rotate_images(x, angles, self.image_shape)

    def __repr__(self) -> str:
        return f"RandomRotation(max_degrees={self.max_degrees:g}, image_shape={self.image_shape})"


class RandomFlip:
    """Mirror each image left to right with probability ``p``, a fresh draw per image: a
    label-preserving transformation for most photographs, and a label-changing one for digits and
    letters, whose mirror images are not digits or are other ones (section `reg-augmentation`)."""

    def __init__(self, p: float, image_shape):
        self.image_shape = tuple(image_shape) if isinstance(image_shape, Sequence) else image_shape
        _check_image_shape(image_shape)
        self.p = check_float("p", p, minimum=0.0, maximum=1.0)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        images = _as_images(x, _check_image_shape(self.image_shape), self.image_shape, "RandomFlip")
        flip = torch.rand(images.shape[0], device=x.device) < self.p
        return torch.where(flip.view(-1, 1, 1, 1), images.flip(-1), images).reshape(x.shape)

    def __repr__(self) -> str:
        return f"RandomFlip(p={self.p:g}, image_shape={self.image_shape})"


class Compose:
    """Apply several transforms in order: ``Compose([RandomShift(2, shape), RandomRotation(10, shape)])``."""

    def __init__(self, transforms: Sequence[Callable[[torch.Tensor], torch.Tensor]]):
        if isinstance(transforms, (str, bytes)) or callable(transforms) or \
                not isinstance(transforms, Sequence):
            raise TypeError(f"transforms must be a list of transforms, got {type(transforms).__name__}")
        if not transforms:
            raise ValueError("transforms is empty: give at least one transform")
        for i, t in enumerate(transforms):
            if not callable(t):
                raise TypeError(f"transforms[{i}] must be a function of a batch, got {type(t).__name__}")
        self.transforms = list(transforms)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"
