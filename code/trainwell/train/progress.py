"""The progress bar of a run, shown to a reader watching a live run and never stored in a page."""
from __future__ import annotations

import os

from .._validate import is_bool


def progress_enabled(progress: bool | None = None) -> bool:
    """Whether to show a progress bar: ``progress`` when it is given, otherwise yes unless the
    environment variable ``TRAINWELL_PROGRESS`` is ``0`` (``tools/execute_notebooks.py`` and the
    tests set it, so no frozen bar is stored in a notebook or compared by nbval)."""
    if progress is not None:
        if not is_bool(progress):
            raise TypeError(f"progress must be True, False or None, got {progress!r}")
        return bool(progress)
    setting = os.environ.get("TRAINWELL_PROGRESS", "1").strip()
    if setting not in ("0", "1"):
        raise ValueError(f"TRAINWELL_PROGRESS must be 0 or 1, got {setting!r}")
    return setting == "1"


def _progress(iterable, enabled: bool | None, desc: str, unit: str = "epoch"):
    if not progress_enabled(enabled):
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, unit=unit, leave=False)
