"""``tw.exercises``: the answer key of the book's exercises, kept out of the notebooks.

An exercise's checking cell holds the reader's answer and the inputs the exercise is about, never
the answer itself::

    my_alpha = None  # your answer
    tw.exercises.check("do-ex-ridge", my_alpha, n=100, keep=0.8)

The key computes the expected value from those inputs, here in the package, and compares it with the
answer as :func:`trainwell.checks.check` does, printing one line:

    [check] ridge coefficient equivalent to input dropout: PASS (max |diff| = 0, rtol = 1e-12)

``None`` means "not attempted yet" and prints so. Each part registers its exercises in its own
``exercises`` module (``trainwell.dropout.exercises``, ...); this module holds the Using page's.
The exercise's label is the one of its ``{exercise}`` directive in the book.
"""
from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import torch

from . import checks
from ._validate import check_float

_LABEL = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)+$")


@dataclass(frozen=True)
class Exercise:
    """One entry of the key: ``expected(**inputs)`` is the right answer, compared with
    ``prepare(answer, ...)`` (the answer itself when ``prepare`` is None; it receives the inputs it
    names) within ``rtol``/``atol``."""

    label: str
    claim: str
    expected: Callable[..., object]
    inputs: tuple[str, ...]
    rtol: float = 0.0
    atol: float = 0.0
    prepare: Callable[..., object] | None = None


_KEY: dict[str, Exercise] = {}


def _parameter_names(fn: Callable, what: str) -> tuple[str, ...]:
    params = inspect.signature(fn).parameters.values()
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        raise TypeError(f"register: {what} must name its inputs (no *args or **kwargs)")
    return tuple(p.name for p in params)


def register(label: str, claim: str, expected: Callable[..., object], *, rtol: float = 0.0,
             atol: float = 0.0, prepare: Callable[..., object] | None = None) -> Exercise:
    """Add an exercise to the key. ``expected``'s parameters are the exercise's inputs, which the
    checking cell passes by name; ``prepare(answer, ...)``, if given, turns the reader's answer into
    the quantity compared (e.g. a factor into the prediction it gives), taking the inputs it names."""
    if not isinstance(label, str) or not _LABEL.match(label):
        raise ValueError(f"register: label must look like 'do-ex-ridge' (the exercise's MyST label), "
                         f"got {label!r}")
    if label in _KEY:
        raise ValueError(f"register: exercise {label!r} is already in the key")
    if not isinstance(claim, str) or not claim.strip():
        raise ValueError("register: claim must be a sentence saying what is checked")
    if not callable(expected):
        raise TypeError(f"register: expected must be a function of the inputs, got {type(expected).__name__}")
    inputs = _parameter_names(expected, "expected")
    if prepare is not None:
        if not callable(prepare):
            raise TypeError(f"register: prepare must be a function, got {type(prepare).__name__}")
        names = _parameter_names(prepare, "prepare")
        if not names or set(names[1:]) - set(inputs):
            raise ValueError(f"register: prepare must take the answer first and then only inputs of "
                             f"expected ({', '.join(inputs) or 'none'}), got ({', '.join(names)})")
    rtol, atol = check_float("rtol", rtol, minimum=0.0), check_float("atol", atol, minimum=0.0)
    exercise = Exercise(label, claim.strip(), expected, inputs, rtol, atol, prepare)
    _KEY[label] = exercise
    return exercise


def labels() -> list[str]:
    """The labels of every registered exercise, sorted."""
    return sorted(_KEY)


def _lookup(label: str) -> Exercise:
    if label not in _KEY:
        near = [k for k in _KEY if k.split("-")[0] == str(label).split("-")[0]] or labels()
        raise ValueError(f"Unknown exercise {label!r}; the key holds: {', '.join(sorted(near))}")
    return _KEY[label]


def _inputs(exercise: Exercise, given: dict) -> dict:
    missing = [n for n in exercise.inputs if n not in given]
    extra = [n for n in given if n not in exercise.inputs]
    if missing or extra:
        wanted = ", ".join(f"{n}=..." for n in exercise.inputs) or "no inputs"
        raise TypeError(f"exercise {exercise.label!r} takes {wanted}"
                        + (f"; missing: {', '.join(missing)}" if missing else "")
                        + (f"; unexpected: {', '.join(extra)}" if extra else ""))
    return given


def expected(label: str, **inputs):
    """The key's answer to exercise ``label`` for these inputs (for tests and for authors)."""
    exercise = _lookup(label)
    return exercise.expected(**_inputs(exercise, inputs))


def check(label: str, answer, **inputs) -> checks.Verdict | None:
    """The checking cell of exercise ``label``: compare the reader's ``answer`` with the key.

    Prints one ``[check]`` line and returns its verdict, or ``None`` when ``answer`` is ``None``
    (not attempted yet). An answer of the wrong shape or type is a FAIL that says what was expected,
    not an exception: the reader is told what to fix."""
    exercise = _lookup(label)
    given = _inputs(exercise, inputs)
    if answer is None:
        print(f"[check] {exercise.claim}: not attempted yet (replace None with your answer)")
        return None
    got = answer
    if exercise.prepare is not None:
        names = _parameter_names(exercise.prepare, "prepare")[1:]
        got = exercise.prepare(answer, **{n: given[n] for n in names})
    want = exercise.expected(**given)
    try:
        got_shape = checks._as_array("answer", got).shape
    except TypeError:
        return _fail(exercise, f"your answer is a {type(answer).__name__}; a number, list or tensor "
                               "is expected")
    want_shape = checks._as_array("expected", want).shape
    if got_shape != want_shape:
        return _fail(exercise, f"your answer has shape {got_shape}, the key's has shape {want_shape}")
    return checks.check(exercise.claim, got, want, rtol=exercise.rtol, atol=exercise.atol)


def _fail(exercise: Exercise, why: str) -> checks.Verdict:
    line = f"[check] {exercise.claim}: FAIL ({why})"
    print(line)
    return checks.Verdict(False, line)


# ------------------------------------------------------------------------------------------------
# The Using page's exercises (section `using-this-book`)

register("using-ex-uniform", "loss of a uniform prediction over 10 classes",
         lambda n_classes: math.log(n_classes), atol=1e-6)


register("using-ex-gradsum", "gradient rows sum to zero",
         lambda logits: torch.zeros(logits.shape[0], dtype=torch.float64), atol=1e-15)

__all__ = ["Exercise", "check", "expected", "labels", "register"]
