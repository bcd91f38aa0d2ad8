"""Shared test settings: a non-interactive matplotlib backend, the package's quick size, and no
progress bars (the notebooks' stored outputs are made without them, and nbval's kernels inherit
this environment)."""
import os

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("TRAINWELL_SIZE", "quick")
os.environ["TRAINWELL_PROGRESS"] = "0"
