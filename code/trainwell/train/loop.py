"""The one training loop: :func:`run` trains the members of a run, one (:func:`~trainwell.train.fit`)
or many (:func:`~trainwell.train.fit_many`), step by step, with the same checks, evaluation,
stopping and callbacks for both.

The whole (small) dataset stays on the device; every member draws its own mini-batch order; the
per-step losses are kept as tensors and read once per epoch, and each step's loss is checked for
being finite (one synchronisation). Each epoch ends with an evaluation pass in eval mode over the
training and validation splits, so the train/eval gap of dropout and batch norm is visible."""
from __future__ import annotations

import contextlib
import math
import time

import torch
from torch import nn

from .checks import Plan, _check_classes
from .members import member_rng
from .progress import _progress
from .scoring import _evaluate_members, _member_losses
from .state import RunState


def run(state: RunState, seen: list, data, plan: Plan, penalty, streams, order_generators) -> None:
    """Train the members of ``state`` as ``plan`` says: the one loop of :func:`fit` and
    :func:`fit_many`. ``seen`` pairs every callback with the state it is given (fit's callbacks see
    a :class:`TrainState`); ``penalty(members)`` gives each member's penalty, shape (M,);
    ``streams`` are the members' random generators (``None``: torch's global one, as :func:`fit`
    seeds it); ``order_generators`` draw each member's mini-batch order.

    Every callback that started gets its ``on_fit_end``, however training ends. Before that, a
    member that stopped early is given back the parameters it stopped with."""
    started = []  # a callback that failed to start, or was never started, is not ended
    try:
        for cb, seen_state in seen:
            cb.on_fit_start(seen_state)
            started.append((cb, seen_state))
        _epochs(state, seen, data, plan, penalty, streams, order_generators)
    finally:
        for m, kept in enumerate(state.final_state):
            if kept is not None:
                state.model.load_member_state(m, kept)
        _end_callbacks(started)


def _epochs(state: RunState, seen: list, data, plan: Plan, penalty, streams, order_generators) -> None:
    members, opt, histories, active, dev = (state.model, state.optimizer, state.histories, state.active,
                                            state.device)
    X, y = data.X_train.to(dev), data.y_train.to(dev)
    Xv, yv = data.X_val.to(dev), data.y_val.to(dev)
    M, n, batch_size = members.members, X.shape[0], plan.batch_size
    last_start = n - batch_size if plan.drop_last else n - 1
    bar = _progress(range(1, plan.epochs + 1), plan.progress, plan.desc)
    for epoch in bar:
        state.epoch = epoch
        started = time.perf_counter()
        members.train()
        order = torch.stack([torch.randperm(n, generator=g) for g in order_generators]).to(dev)
        running = None if all(active) else torch.tensor(active, device=dev)  # changes between epochs only
        losses = []
        for start in range(0, last_start + 1, batch_size):
            idx = order[:, start:start + batch_size]
            xb, yb = X[idx], y[idx]
            if plan.transform is not None:
                xb = torch.stack([_transformed(plan.transform, xb[m], plan.where,
                                               None if streams is None else streams[m]) for m in range(M)])
            out = members(xb)
            if state.step == 0:
                _check_classes(out, plan.label_ranges, plan.where, class_dim=2)
            member_loss = _member_losses(plan.loss, plan.loss_fn, out, yb, plan.where)
            objective = member_loss if penalty is None else member_loss + penalty(members)
            if running is not None:  # members that have stopped get no gradient
                objective = torch.where(running, objective, 0.0)
            total = objective.sum()
            if not math.isfinite(total.item()):  # the step's one synchronisation
                finite = torch.isfinite(objective)
                for m in [m for m in range(M) if active[m] and not bool(finite[m])]:
                    histories[m].step_loss.extend(torch.stack(losses)[:, m].float().cpu().tolist()
                                                  if losses else [])
                    histories[m].diverged = True  # stopped before this step's update
                    state.finish(m, _divergence(member_loss[m], objective[m], state.step + 1))
                if not any(active):
                    return
                running = torch.tensor(active, device=dev)
                objective = torch.where(running, objective, 0.0)
                total = objective.sum()
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            state.step += 1
            state.batch_loss = member_loss.detach()
            losses.append(state.batch_loss)
            for cb, seen_state in seen:
                cb.on_step_end(seen_state)
            if state.stop_reason is not None or state.step == plan.max_steps:
                break
        step_losses = torch.stack(losses).float().cpu().T.tolist()  # (M, steps): one synchronisation
        for m in range(M):
            if active[m]:
                histories[m].step_loss.extend(step_losses[m])
        records: list[dict | None] = [None] * M
        if epoch % plan.eval_every == 0 or epoch == plan.epochs or state.step == plan.max_steps \
                or state.stop_reason:
            scores = {split: _evaluate_members(members, xs, ys, plan.loss, plan.loss_fn)
                      for split, (xs, ys) in (("train", (X, y)), ("val", (Xv, yv)))}
            seconds = time.perf_counter() - started
            for m in range(M):
                if not active[m]:
                    continue
                record = {"epoch": epoch}
                for split, per_member in scores.items():
                    record.update({f"{split}_{k}": v for k, v in per_member[m].items()})
                record["seconds"] = seconds
                histories[m].epochs.append(record)
                not_finite = [k for k, v in record.items() if not math.isfinite(v)]
                if not_finite:
                    histories[m].diverged = True
                    state.finish(m, f"{', '.join(not_finite)} became non-finite after epoch {epoch}")
                else:
                    records[m] = record
            if not any(active):
                return
        state.record = records
        for cb, seen_state in seen:
            cb.on_epoch_end(seen_state)
        if hasattr(bar, "set_postfix"):
            bar.set_postfix({"active": sum(active)})
        if state.stop_reason is not None:
            for m in range(M):
                if active[m]:
                    state.finish(m, state.stop_reason)
            return
        if not any(active):
            return
        if state.step == plan.max_steps:
            for m in range(M):
                if active[m]:
                    state.finish(m, f"max_steps={plan.max_steps} reached" if epoch < plan.epochs else None)
            return


def _divergence(batch_loss: torch.Tensor, objective: torch.Tensor, step: int) -> str:
    """The stop reason of a step whose loss (or loss plus penalty) is not finite."""
    loss = batch_loss.detach().item()
    what = f"the training loss became {loss}" if not math.isfinite(loss) else \
        f"the penalty made the objective {objective.detach().item()}"
    return f"{what} at step {step}; training stopped before that step's update"


def _transformed(transform, xb: torch.Tensor, where: str, generator: torch.Generator | None) -> torch.Tensor:
    """``transform`` of one member's mini-batch, drawing from the member's stream (``generator``;
    ``None``: torch's global generator, which :func:`fit` seeds for its run)."""
    with member_rng(generator) if generator is not None else contextlib.nullcontext():
        out = transform(xb)
    if not isinstance(out, torch.Tensor) or out.shape[:1] != xb.shape[:1]:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"{where}: transform must return a tensor with the batch's {xb.shape[0]} examples "
                         f"along dimension 0, got {got}")
    return out


def _penalty(penalty, model: nn.Module) -> torch.Tensor:
    value = penalty(model)
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(f"fit: penalty(model) must return a scalar tensor, got {got}")
    return value.reshape(())


def _end_callbacks(started: list) -> None:
    """``on_fit_end`` of every callback that started, in order, even when one of them raises: a
    callback that undoes something when training ends (``WeightNoise`` removes its hooks,
    ``EarlyStopping`` restores the best parameters) must not be skipped because an earlier one
    failed. The first error is raised once all have run; any later ones are added to it as notes."""
    errors = []
    for cb, state in started:
        try:
            cb.on_fit_end(state)
        except Exception as error:  # noqa: BLE001 (re-raised below, after the others have ended)
            errors.append((cb, error))
    if errors:
        first = errors[0][1]
        for cb, error in errors[1:]:
            first.add_note(f"{type(cb).__name__}.on_fit_end also failed: {type(error).__name__}: {error}")
        raise first
