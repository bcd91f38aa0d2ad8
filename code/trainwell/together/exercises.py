"""The answer key of Part V's exercises (see :mod:`trainwell.exercises`): each expected value is
computed here from the inputs the checking cell passes, so the cell never shows the answer."""
from __future__ import annotations

import math

from ..exercises import register


# section `together-pitfalls`
def _batch_of_one(low, high, batch_size):
    return [n for n in range(low, high + 1) if n > batch_size and n % batch_size == 1]


register("together-ex-batch-of-one", "training set sizes that leave a last mini-batch of one example",
         _batch_of_one, rtol=0.0)


# section `together-ablation`
register("together-ex-resamples", "distinct bootstrap resamples of n seeds (multisets)",
         lambda n: math.comb(2 * n - 1, n), rtol=0.0)
