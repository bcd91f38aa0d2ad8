"""Augmentation: exact shifts, rotations against torch.rot90 and flips, shapes and dtypes kept, draws
reproducible from the seed, and fit_many with a random transform equals separate fits."""
import pytest
import torch

import trainwell as tw
from trainwell.regularization import Compose, RandomRotation, RandomShift, rotate_images, shift_images

from ._runs import assert_members_equal_separate_fits, small_digits


def one_hot_images(positions, shape=(1, 7, 9)):
    x = torch.zeros(len(positions), *shape)
    for n, (i, j) in enumerate(positions):
        x[n, 0, i, j] = 1.0
    return x


def test_a_shift_by_k_moves_a_pixel_by_exactly_k():
    x = one_hot_images([(3, 4)] * 5)
    offsets = torch.tensor([[0, 0], [1, 2], [-3, 0], [2, -4], [0, 4]])
    out = shift_images(x, offsets, (1, 7, 9))
    for n, (down, right) in enumerate(offsets.tolist()):
        expected = torch.zeros(1, 7, 9)
        expected[0, 3 + down, 4 + right] = 1.0
        assert torch.equal(out[n], expected), (down, right)
    gone = shift_images(one_hot_images([(0, 0)]), torch.tensor([[-1, 0]]), (7, 9))  # off the top: all zeros
    assert gone.abs().sum() == 0


def test_shift_keeps_flat_layout_values_and_dtype():
    torch.manual_seed(0)
    x = torch.rand(4, 2, 5, 6, dtype=torch.float64)
    offsets = torch.tensor([[1, -1], [0, 2], [-2, 0], [0, 0]])
    square = shift_images(x, offsets, (2, 5, 6))
    flat = shift_images(x.flatten(1), offsets, (2, 5, 6))
    assert flat.shape == (4, 60) and flat.dtype == torch.float64 and torch.equal(flat, square.flatten(1))
    # each moved image is the original, cropped and zero-padded: compare with slicing
    assert torch.equal(square[0, :, 1:, :5], x[0, :, :4, 1:]) and square[0, :, 0].abs().sum() == 0
    assert torch.equal(square[3], x[3])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("make", [lambda: RandomShift(2, (1, 8, 8)), lambda: RandomRotation(15.0, (8, 8)),
                                  lambda: Compose([RandomShift(1, (8, 8)), RandomRotation(10.0, (1, 8, 8))])],
                         ids=["shift", "rotation", "compose"])
def test_random_transforms_keep_shape_and_dtype_and_are_reproducible(make, dtype):
    transform = make()
    x = torch.rand(16, 64, dtype=dtype)
    original = x.clone()
    for batch in (x, x.view(16, 1, 8, 8)):
        torch.manual_seed(3)
        a = transform(batch)
        torch.manual_seed(3)
        b = transform(batch)
        torch.manual_seed(4)
        c = transform(batch)
        assert a.shape == batch.shape and a.dtype == dtype
        assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(x, original)  # the input is left alone


def test_random_shift_moves_each_image_by_at_most_max_shift():
    torch.manual_seed(0)
    x = one_hot_images([(3, 4)] * 200)
    out = RandomShift(2, (1, 7, 9))(x)
    where = out.flatten(1).argmax(1)
    rows, cols = where // 9 - 3, where % 9 - 4
    assert out.flatten(1).sum(1).eq(1).all()  # the pixel is never lost: 2 < 3 and 2 < 4
    assert rows.abs().max() == 2 and cols.abs().max() == 2
    assert len(set(zip(rows.tolist(), cols.tolist(), strict=True))) == 25  # every offset appears


def test_rotation_by_zero_90_and_180_degrees():
    torch.manual_seed(0)
    x = torch.rand(3, 2, 6, 6, dtype=torch.float64)
    torch.testing.assert_close(rotate_images(x, 0.0, (2, 6, 6)), x, rtol=0, atol=1e-12)
    quarter = rotate_images(x, 90.0, (2, 6, 6))  # counter-clockwise as displayed, row 0 on top
    torch.testing.assert_close(quarter, torch.rot90(x, 1, (2, 3)), rtol=0, atol=1e-12)
    wide = torch.rand(2, 1, 4, 7, dtype=torch.float64)  # non-square: a half turn is a flip of both axes
    torch.testing.assert_close(rotate_images(wide, 180.0, (4, 7)), wide.flip(2, 3), rtol=0, atol=1e-12)
    angles = torch.tensor([0.0, 90.0, -90.0], dtype=torch.float64)
    each = rotate_images(x, angles, (2, 6, 6))
    torch.testing.assert_close(each[2], torch.rot90(x[2], -1, (1, 2)), rtol=0, atol=1e-12)
    x32 = x.float().flatten(1)
    torch.testing.assert_close(rotate_images(x32, 0.0, (2, 6, 6)), x32, rtol=0, atol=1e-6)


def test_zero_maximum_returns_the_batch_itself():
    x = torch.rand(5, 64)
    assert RandomShift(0, (8, 8))(x) is x and RandomRotation(0.0, (8, 8))(x) is x


def test_compose_applies_in_order():
    x = torch.rand(6, 1, 8, 8)
    shift, turn = RandomShift(2, (1, 8, 8)), RandomRotation(20.0, (1, 8, 8))
    torch.manual_seed(5)
    both = Compose([shift, turn])(x)
    torch.manual_seed(5)
    assert torch.equal(both, turn(shift(x)))


def test_fit_many_with_augmentation_equals_separate_fits():
    def build():
        return tw.models.mlp([64, 16, 10]).double()

    transform = Compose([RandomShift(1, (8, 8)), RandomRotation(10.0, (8, 8))])
    assert_members_equal_separate_fits(
        build, small_digits(), make_optimizer=lambda p, **s: torch.optim.SGD(p, **{"lr": 0.1, **s}),
        extras=lambda: {"transform": transform}, epochs=2, batch_size=50, seeds=(0, 1, 2))


def test_random_flip_mirrors_each_image_left_to_right_or_leaves_it():
    from trainwell.regularization import RandomFlip

    x = torch.rand(64, 1, 6, 7, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(3)
    out = RandomFlip(0.5, (1, 6, 7))(x)
    flipped = torch.tensor([torch.equal(o, xi.flip(-1)) for o, xi in zip(out, x, strict=True)])
    kept = torch.tensor([torch.equal(o, xi) for o, xi in zip(out, x, strict=True)])
    assert bool((flipped ^ kept).all()) and 16 < int(flipped.sum()) < 48  # each image one or the other
    assert torch.equal(RandomFlip(1.0, (6, 7))(x.reshape(64, 42)).reshape(x.shape), x.flip(-1))
    assert torch.equal(RandomFlip(0.0, (6, 7))(x.reshape(64, 42)), x.reshape(64, 42))
