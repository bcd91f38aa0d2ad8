"""The answer key of Part I's exercises (see :mod:`trainwell.exercises`): each expected value is
computed here from the inputs the checking cell passes, so the cell never shows the answer."""
from __future__ import annotations

from ..exercises import register

# section `reg-overfitting`
register("reg-ex-chance", "expected number of wrong labels after redrawing a fraction at random",
         lambda n, fraction, classes: n * fraction * (1 - 1 / classes), rtol=1e-9)
