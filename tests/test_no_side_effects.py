"""Nothing the course or the tests do may change the repository: `git status` is as it was.

The snapshot is taken when the pytest session starts (``pytest_configure`` in conftest.py) and
this test is moved to the very end of the run (``pytest_collection_modifyitems``), after every
unit test and every notebook executed by nbval. Checkpoints, figures and caches must go to
temporary folders; a new or modified file in the working tree — tracked, untracked, or
ignored but not a tool cache (see ``TOOL_CACHES`` in conftest.py) — fails here with its name.
"""

from __future__ import annotations

import pytest


def test_git_status_is_unchanged(
    git_state_at_start: frozenset[str] | None, current_git_state: frozenset[str] | None
) -> None:
    if git_state_at_start is None:
        pytest.skip("not a git checkout (or git is missing)")
    now = current_git_state
    assert now is not None
    appeared = sorted(now - git_state_at_start)
    vanished = sorted(git_state_at_start - now)
    assert not appeared and not vanished, (
        "the test session changed the working tree: "
        f"new or changed {appeared}, no longer reported {vanished}"
    )


def test_the_check_runs_last(request: pytest.FixtureRequest) -> None:
    items = request.session.items
    names = [item.nodeid for item in items]
    checks = [n for n in names if n.endswith("test_no_side_effects.py::test_git_status_is_unchanged")]
    assert len(checks) == 1 and names[-1] == checks[0]
