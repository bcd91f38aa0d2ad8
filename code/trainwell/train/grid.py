"""The optimizer settings of a :func:`~trainwell.train.fit_many` grid."""
from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Sequence


def settings_from_grid(grid) -> list[dict]:
    """The optimizer settings a ``grid`` describes: ``None`` (one setting, the optimizer's own), a
    dict of lists (every combination, e.g. ``{"lr": [0.01, 0.1], "weight_decay": [0, 1e-4]}``), or a
    list of dicts (exactly those settings)."""
    if grid is None:
        return [{}]
    if isinstance(grid, dict):
        for key, values in grid.items():
            if not isinstance(key, str):
                raise TypeError(f"grid keys must be hyperparameter names, got {key!r}")
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not len(values):
                raise TypeError(f"grid[{key!r}] must be a non-empty list of values, got {values!r}")
        settings = [dict(zip(grid, combo, strict=True)) for combo in itertools.product(*grid.values())]
    elif isinstance(grid, Sequence) and not isinstance(grid, (str, bytes)) and len(grid):
        settings = [dict(s) if isinstance(s, dict) else None for s in grid]
        if any(s is None for s in settings):
            raise TypeError("grid as a list must hold dicts of hyperparameters, "
                            "e.g. [{'lr': 0.1}, {'lr': 0.01}]")
        if len({tuple(s) for s in settings}) != 1:
            raise ValueError(f"every setting of grid must name the same hyperparameters, got "
                             f"{sorted({tuple(s) for s in settings})}")
    else:
        raise TypeError(f"grid must be None, a dict of lists or a non-empty list of dicts, got {grid!r}")
    for setting in settings:
        for key, value in setting.items():
            values = value if isinstance(value, tuple) else (value,)
            for v in values:
                if isinstance(v, bool):
                    continue
                if not isinstance(v, numbers.Real) or not math.isfinite(v):
                    raise ValueError(f"grid: {key}={value!r} is not a finite number")
    if len({tuple(sorted(s.items())) for s in settings}) != len(settings):
        raise ValueError("grid: a setting appears twice")
    return settings
