"""The machinery behind the notebooks' self-checking exercises.

An exercise in a notebook is a stub the student fills in and one call that judges it::

    def n_bases(G, k):
        ...                       # your code here

    check_n_bases(n_bases)        # prints a verdict at once

The call prints one of three verdicts (a :class:`Feedback`):

* ``Correct.`` with a sentence that says what the answer shows;
* ``Not yet:`` with what is wrong and a hint tied to the usual mistake (wrong shape, an
  off-by-one knot count, degree vs order, a forgotten ``zero_grad``, ...);
* ``Not answered yet`` while the stub still holds ``...`` (or a stub function returns
  ``None``), so a notebook run top to bottom with its stubs untouched prints the same text every
  time (nbval stays green).

Each check is an :class:`Exercise`: ``check(answer)`` prints and returns ``None`` (so the cell
shows the verdict once), ``check.judge(answer)`` returns the :class:`Feedback` for tests and
programs. Judges are plain functions that return :func:`correct` or :func:`wrong`, or raise
:class:`Wrong` from a helper; anything else they raise while running the student's code becomes
a ``Not yet`` that names the error instead of a traceback. Introduced in 00_start_here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

CORRECT, WRONG, UNANSWERED = "correct", "wrong", "unanswered"
_STUB_HINT = "replace the `...` with your answer, then rerun this cell"


@dataclass(frozen=True)
class Feedback:
    """One verdict: ``status`` is "correct", "wrong" or "unanswered"; ``hint`` only when wrong."""

    status: str
    message: str = ""
    hint: str = ""

    @property
    def ok(self) -> bool:
        """True for a correct answer."""
        return self.status == CORRECT

    def __str__(self) -> str:
        if self.status == CORRECT:
            return "✅ Correct." + (f" {self.message}" if self.message else "")
        if self.status == UNANSWERED:
            return "⏳ Not answered yet: " + (self.message or _STUB_HINT) + "."
        text = "❌ Not yet: " + self.message
        return text + (f"\n   Hint: {self.hint}" if self.hint else "")


def correct(message: str = "") -> Feedback:
    """The verdict for a right answer; ``message`` says what it shows."""
    return Feedback(CORRECT, message)


def wrong(message: str, hint: str = "") -> Feedback:
    """The verdict for a wrong answer: what is wrong, and a hint towards the fix."""
    return Feedback(WRONG, message, hint)


def unanswered(message: str = _STUB_HINT) -> Feedback:
    """The verdict while the stub is untouched."""
    return Feedback(UNANSWERED, message)


class Wrong(Exception):
    """Raised by a judge (or its helpers) to stop at the first problem found."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.feedback = wrong(message, hint)


class NotAnswered(Exception):
    """Raised when a stub function returns ``None`` or ``...``: the body is not written yet."""


def is_stub(answer: Any) -> bool:
    """True for ``...`` and for a list/tuple/dict that still holds a ``...``."""
    if answer is Ellipsis:
        return True
    if isinstance(answer, (list, tuple)):
        return any(is_stub(a) for a in answer)
    if isinstance(answer, dict):
        return any(is_stub(a) for a in answer.values())
    return False


def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call the student's function; a body still ``...`` (it returns None) means not answered."""
    if not callable(fn):
        raise Wrong(f"expected a function, got {type(fn).__name__} {fn!r}",
                    "pass the function itself, without calling it: check(f), not check(f(...))")
    result = fn(*args, **kwargs)
    if result is None or result is Ellipsis:
        raise NotAnswered
    return result


def number(answer: Any, what: str = "the answer") -> float:
    """``answer`` as a float (int, float, 0-d tensor or array); :class:`Wrong` otherwise."""
    if isinstance(answer, bool):
        raise Wrong(f"{what} is a boolean ({answer}); a number was expected")
    if isinstance(answer, (torch.Tensor, np.ndarray)):
        if math.prod(answer.shape) == 1:
            answer = answer.reshape(()).item()
        else:
            raise Wrong(f"{what} has shape {tuple(answer.shape)}; one number was expected",
                        "reduce it to a single number (e.g. .sum(), .item(), or pick one entry)")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise Wrong(f"{what} is {type(answer).__name__} {answer!r}; a number was expected") from None
    if not math.isfinite(value):
        raise Wrong(f"{what} is {value}", "a NaN or inf usually means a division by 0 or a log of 0")
    return value


def array(answer: Any, what: str = "the answer") -> np.ndarray:
    """``answer`` (tensor, array, list or number) as a float64 NumPy array; :class:`Wrong` otherwise."""
    if isinstance(answer, torch.Tensor):
        return answer.detach().cpu().double().numpy()
    try:
        out = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError):
        raise Wrong(f"{what} is {type(answer).__name__}; an array or tensor was expected") from None
    return out


def expect_shape(answer: Any, shape: Sequence[int], hint: str = "", what: str = "the answer") -> np.ndarray:
    """``answer`` as an array after checking its shape is ``shape``."""
    out = array(answer, what)
    if tuple(out.shape) != tuple(shape):
        raise Wrong(f"{what} has shape {tuple(out.shape)}, expected {tuple(shape)}", hint)
    return out


def close(a: Any, b: Any, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """True when the arrays (or numbers) ``a`` and ``b`` agree to the tolerances."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def first_match(value: Any, mistakes: Sequence[tuple[Any, str, str]], rtol: float = 1e-6) -> Feedback | None:
    """The :func:`wrong` of the first ``(wrong_value, message, hint)`` that ``value`` equals."""
    for candidate, message, hint in mistakes:
        if close(value, candidate, rtol=rtol):
            return wrong(message, hint)
    return None


class Exercise:
    """A self-check: ``check(answer)`` prints the verdict, ``check.judge(answer)`` returns it.

    ``judge(*answers) -> Feedback`` does the checking; stubs (``...``), stub functions returning
    ``None``, :class:`Wrong` and any error raised by the student's code are handled here, once.
    """

    def __init__(self, judge: Callable[..., Feedback], notebook: str) -> None:
        self._judge = judge
        self.name = judge.__name__
        self.notebook = notebook
        self.__doc__ = judge.__doc__
        self.__wrapped__ = judge

    def judge(self, *answers: Any) -> Feedback:
        """The verdict on ``answers`` (returned, not printed)."""
        if any(is_stub(a) for a in answers):
            return unanswered()
        try:
            feedback = self._judge(*answers)
        except NotAnswered:
            return unanswered("your function returned None: write its body "
                              "(if you did, check it ends with `return ...`)")
        except Wrong as problem:
            return problem.feedback
        except Exception as error:  # the student's code raised: say so, do not crash the cell
            return wrong(f"running your answer raised {type(error).__name__}: {error}",
                         "read the error message; test your code on one small input first")
        if not isinstance(feedback, Feedback):
            raise TypeError(f"judge {self.name} returned {feedback!r}, not a Feedback")
        return feedback

    def __call__(self, *answers: Any) -> None:
        print(self.judge(*answers))

    def __repr__(self) -> str:
        return f"Exercise({self.name!r}, notebook={self.notebook!r})"


def exercise(notebook: str) -> Callable[[Callable[..., Feedback]], Exercise]:
    """Decorator: turn ``judge(answer) -> Feedback`` into an :class:`Exercise` for ``notebook``."""

    def wrap(judge: Callable[..., Feedback]) -> Exercise:
        return Exercise(judge, notebook)

    return wrap
