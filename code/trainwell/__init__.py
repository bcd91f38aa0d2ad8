"""trainwell: the code of *Training Deep Networks Well*, shared by every notebook of the book.

    import trainwell as tw
    tw.setup()                                   # seed, device, figure style: one line of report
    data = tw.data.load("mnist5k")               # real data, offline, deterministic splits
    model = tw.models.mlp([784, 128, 10])
    hist = tw.train.fit(model, data, optimizer=lambda p: torch.optim.SGD(p, lr=0.1), epochs=10,
                        callbacks=[tw.train.EarlyStopping(patience=3)])
    tw.check("two sides of a claim agree", lhs, rhs, atol=1e-12)

The map. Base modules (they import no part): config (seeding, device, setup), size_table (every
experiment's quick and full sizes), data (datasets, offline first), models (every network builder,
eval_mode), metrics (the one way a model is scored), train (the one training loop: fit, fit_many,
their callbacks, the members of a run), checks (verification lines), exercises (the answer key: each
part registers its own), plot, widgets, show.
One subpackage per part, each with small algorithm modules, an ``experiments`` module on top and an
``exercises`` module (its answer key), importing base modules and earlier parts only: regularization
(Part I), dropout (II), batchnorm (III), optim (IV); together (V) may combine them all.
"""
from . import (
    batchnorm,
    checks,
    config,
    data,
    dropout,
    exercises,
    metrics,
    models,
    optim,
    plot,
    regularization,
    size_table,
    together,
    train,
    widgets,
)
from .batchnorm import exercises as _batchnorm_exercises  # noqa: F401  (registers Part III's key)
from .checks import check, check_true
from .config import device, module_device, seed_everything, setup
from .dropout import exercises as _dropout_exercises  # noqa: F401  (registers Part II's key)
from .models import eval_mode, train_mode
from .optim import exercises as _optim_exercises  # noqa: F401  (registers Part IV's key)
from .regularization import exercises as _regularization_exercises  # noqa: F401  (Part I's key)
from .show import show, source
from .size_table import size, sizes
from .together import exercises as _together_exercises  # noqa: F401  (Part V's key)
from .together import lint

__version__ = "0.2.0"

__all__ = [
    "batchnorm", "check", "check_true", "checks", "config", "data", "device",
    "dropout", "eval_mode", "exercises", "metrics", "models", "module_device", "optim", "plot",
    "regularization", "seed_everything", "setup", "show", "size", "size_table", "sizes", "source",
    "lint", "together", "train", "train_mode", "widgets",
]
