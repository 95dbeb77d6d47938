"""Self-checking exercises for the course notebooks: ``check_…(answer)`` with specific hints.

One module per notebook (``kanlab.exercises.bsplines`` for 02_bsplines, ...); the machinery is
in :mod:`kanlab.exercises._core`. A notebook imports only the checks it uses::

    from kanlab.exercises.start_here import check_n_edges

Every check prints "Correct", "Not yet" with a hint, or "Not answered yet" for an untouched
stub, and exposes ``.judge(answer)`` returning the :class:`Feedback` (used by the tests).
"""

from __future__ import annotations

from kanlab.exercises._core import Exercise, Feedback, Wrong, correct, exercise, unanswered, wrong

__all__ = ["Exercise", "Feedback", "Wrong", "correct", "exercise", "unanswered", "wrong"]
