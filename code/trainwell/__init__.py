"""trainwell: the code of *Training Deep Networks Well*, shared by every notebook of the book.

    import trainwell as tw
    tw.setup()                                   # seed, device, figure style: one line of report
    data = tw.data.load("digits")                # offline, deterministic splits
    model = tw.models.mlp([64, 128, 10])
    hist = tw.train.fit(model, data, optimizer=lambda p: torch.optim.SGD(p, lr=0.1), epochs=10)
    tw.check("two sides of a claim agree", lhs, rhs, atol=1e-12)
"""
from . import (
               batchnorm,
               bn_experiments,
               checks,
               config,
               data,
               dropout,
               dropout_experiments,
               models,
               plot,
               train,
               widgets,
)
from .checks import check, check_answer, check_true
from .config import device, module_device, seed_everything, setup, size, sizes
from .show import show, source

__version__ = "0.1.0"

__all__ = [
    "batchnorm", "bn_experiments", "check", "check_answer", "check_true", "checks", "config",
    "data", "device", "dropout", "dropout_experiments", "models", "module_device", "plot", "seed_everything",
    "setup", "show", "size", "sizes", "source", "train", "widgets",
]
