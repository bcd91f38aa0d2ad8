"""Shared test settings: a non-interactive matplotlib backend and the package's quick size."""
import os

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("TRAINWELL_SIZE", "quick")
