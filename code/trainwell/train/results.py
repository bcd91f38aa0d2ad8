"""What a run returns: :class:`History` (one model's record) and :class:`Runs` (many members')."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from torch import nn


@dataclass
class History:
    """What :func:`fit` recorded. ``step_loss[i]`` is the training loss of optimizer step ``i + 1``;
    ``epochs`` holds one dict per epoch (``train_loss``, ``val_loss`` and, for classification,
    ``train_acc``, ``val_acc``, all measured in eval mode, plus ``seconds``). ``stop_reason`` says
    why training ended before its last epoch (``None`` if it did not); ``best_epoch`` is set by
    :class:`EarlyStopping`."""

    step_loss: list[float] = field(default_factory=list)
    epochs: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    diverged: bool = False
    stop_reason: str | None = None

    def metric(self, name: str) -> np.ndarray:
        """One per-epoch metric as an array (e.g. ``history.metric("val_acc")``)."""
        if not self.epochs:
            raise ValueError("History is empty: no epoch has finished")
        if name not in self.epochs[0]:
            raise ValueError(f"Unknown metric {name!r} (recorded: {', '.join(self.epochs[0])})")
        return np.array([e[name] for e in self.epochs], dtype=float)

    def plot(self, axes=None, title: str | None = None):
        """Loss (and accuracy, if recorded) per epoch for the training and validation splits."""
        from .. import plot

        return plot.history(self, axes=axes, title=title)

    def __repr__(self) -> str:
        if not self.epochs:
            return "History(no epochs" + (f"; {self.stop_reason})" if self.stop_reason else ")")
        last = self.epochs[-1]
        shown = ", ".join(f"{k} {v:.4g}" for k, v in last.items() if k not in ("epoch", "seconds"))
        extra = " (stopped early)" if self.stopped_early else " (diverged)" if self.diverged else ""
        return f"History({len(self.epochs)} epochs{extra}; last: {shown})"



@dataclass
class Runs:
    """What :func:`fit_many` returns: per member (in the order settings × seeds) its optimizer
    ``setting``, its ``seed``, its :class:`History` and its trained ``model``."""

    settings: list[dict]
    seeds: list[int]
    histories: list[History]
    models: list[nn.Module]

    def __len__(self) -> int:
        return len(self.histories)

    def table(self) -> list[dict]:
        """One row per member and epoch: the setting's hyperparameters, ``seed``, ``member``, and the
        epoch's metrics (a tidy table: ``pandas.DataFrame(runs.table())`` if you like)."""
        rows = []
        for m, (setting, seed, history) in enumerate(zip(self.settings, self.seeds, self.histories,
                                                         strict=True)):
            for record in history.epochs:
                rows.append({**setting, "seed": seed, "member": m, **record})
        return rows

    def final(self, metric: str = "val_loss") -> np.ndarray:
        """``metric`` at each member's last recorded epoch (NaN for a member that recorded none)."""
        out = np.full(len(self), np.nan)
        for m, history in enumerate(self.histories):
            if history.epochs:
                if metric not in history.epochs[-1]:
                    raise ValueError(f"Unknown metric {metric!r} "
                                     f"(recorded: {', '.join(history.epochs[-1])})")
                out[m] = history.epochs[-1][metric]
        return out

    def by_setting(self, metric: str = "val_loss") -> np.ndarray:
        """``metric`` at each member's last recorded epoch arranged as (settings, seeds), the order
        of ``settings`` and ``seeds`` that :func:`fit_many` was given."""
        n_seeds = len(dict.fromkeys(self.seeds))
        return self.final(metric).reshape(-1, n_seeds)

    def curves(self, metric: str = "val_loss") -> np.ndarray:
        """``metric`` per epoch for every member, shape (settings, seeds, epochs); a member that
        stopped early is padded with NaN after its last epoch."""
        n_seeds = len(dict.fromkeys(self.seeds))
        longest = max((len(h.epochs) for h in self.histories), default=0)
        out = np.full((len(self), longest), np.nan)
        for m, history in enumerate(self.histories):
            if history.epochs:
                out[m, :len(history.epochs)] = history.metric(metric)
        return out.reshape(-1, n_seeds, longest)

    def epochs_to(self, target: float, metric: str = "val_acc") -> np.ndarray:
        """For every member the first recorded epoch at which ``metric`` reached ``target`` (at least
        it for an accuracy, at most it for a loss), or NaN if it never did."""
        first = np.full(len(self), np.nan)
        for m, history in enumerate(self.histories):
            for record in history.epochs:
                value = record.get(metric)
                if value is None:
                    raise ValueError(f"Unknown metric {metric!r} (recorded: {', '.join(record)})")
                if (value >= target) if metric.endswith("acc") else (value <= target):
                    first[m] = record["epoch"]
                    break
        return first

    def _best_records(self, by: str) -> list[dict | None]:
        """Each member's recorded epoch that is best by ``by`` (lowest loss, highest accuracy): the
        first such epoch on a tie; ``None`` for a member with no recorded epoch or only NaN."""
        best = []
        for history in self.histories:
            values = [record.get(by, None) for record in history.epochs]
            if history.epochs and None in values:
                raise ValueError(f"Unknown metric {by!r} (recorded: {', '.join(history.epochs[0])})")
            scores = np.array(values, dtype=float)
            if by.endswith("acc"):
                scores = -scores
            best.append(None if not np.isfinite(scores).any() else history.epochs[int(np.nanargmin(scores))])
        return best

    def best_epochs(self, by: str = "val_loss") -> np.ndarray:
        """Each member's best epoch by ``by`` (lowest loss, highest accuracy; NaN if none)."""
        return np.array([np.nan if r is None else r["epoch"] for r in self._best_records(by)], dtype=float)

    def at_best(self, metric: str = "val_acc", by: str = "val_loss") -> np.ndarray:
        """``metric`` at each member's best epoch by ``by``: the point at which to score arms fairly,
        each at its own best validation epoch, rather than wherever the budget happens to end
        (CONTRIBUTING.md). Per member, like :meth:`final`; ``.reshape(-1, n_seeds)`` arranges it as
        (settings, seeds)."""
        out = []
        for record in self._best_records(by):
            if record is not None and metric not in record:
                raise ValueError(f"Unknown metric {metric!r} (recorded: {', '.join(record)})")
            out.append(np.nan if record is None else record[metric])
        return np.array(out, dtype=float)

    def best_before_end(self, by: str = "val_loss", last: float = 0.1) -> np.ndarray:
        """Whether each member's best epoch by ``by`` came before the last ``last`` fraction of its
        run (its last recorded epoch): a guard that the budget did not end a run that was still
        improving. A claim about arms scored at their best epochs needs it True for every member, or
        a longer budget."""
        if not 0 < last < 1:
            raise ValueError(f"last must be a fraction in (0, 1), got {last!r}")
        ends = np.array([h.epochs[-1]["epoch"] if h.epochs else np.nan for h in self.histories], dtype=float)
        return self.best_epochs(by) <= (1 - last) * ends

    def evaluate(self, X, y, *, loss="cross_entropy") -> dict[str, np.ndarray]:
        """Score every trained member on a held-out split ``X, y`` (the test split, once, after every
        choice was made on validation) with :func:`trainwell.metrics.evaluate`: ``{"loss": ..., "acc":
        ...}`` (accuracy for class labels only), each of shape (settings, seeds) like :meth:`by_setting`."""
        from ..metrics import evaluate

        n_seeds = len(dict.fromkeys(self.seeds))
        scores = [evaluate(model, X, y, loss=loss) for model in self.models]
        return {key: np.array([s[key] for s in scores], dtype=float).reshape(-1, n_seeds)
                for key in scores[0]}

    def members(self, **setting) -> list[int]:
        """Indices of the members whose setting has these values, e.g. ``runs.members(lr=0.1)``."""
        return [m for m, s in enumerate(self.settings)
                if all(k in s and s[k] == v for k, v in setting.items())]
