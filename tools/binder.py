"""binder/requirements.txt from requirements/lock.txt: what Binder installs is what CI tests.

    python tools/binder.py          write binder/requirements.txt (after changing the lock)
    python tools/binder.py --check  exit 1, with a diff, if the file is not what the lock gives

Binder (repo2docker) builds an environment from ``binder/``: ``runtime.txt`` (the Python),
``apt.txt`` (graphviz's ``dot``), ``requirements.txt`` (``pip install -r``) and ``postBuild``
(``pip install --no-deps -e .``). The requirements are the lock's exact pins for the closure of
what a student's JupyterLab needs, the dependencies of :data:`ROOT_EXTRAS` and kanlab's own, and
nothing of the test, benchmark or site tools. The closure is read from the package metadata of
the environment running this script, which must be the locked one (``make install``; every
version is checked against the lock), with markers evaluated for Binder's platform (Linux,
x86-64, the Python of ``runtime.txt``). torch is pinned to its CPU build from PyTorch's index.
``make binder-check`` builds the result as repo2docker would and runs notebooks in it;
tests/test_packaging.py runs ``--check``.
"""

from __future__ import annotations

import difflib
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements" / "lock.txt"
OUT = REPO / "binder" / "requirements.txt"
RUNTIME = REPO / "binder" / "runtime.txt"
# pyproject extras that Binder's JupyterLab gets on top of kanlab's runtime dependencies.
ROOT_EXTRAS = ("lab",)
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
# Installed by the build itself (repo2docker's base environment), never pinned here.
BUILD_TOOLS = {"pip", "setuptools", "wheel"}


def read_lock(text: str) -> dict[str, tuple[str, Version]]:
    """Lock lines ``name==version`` -> {canonical name: (name as written, version)}."""
    pins = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        if match is None:
            raise ValueError(f"{LOCK.name}: not an exact pin 'name==version': {raw!r}")
        pins[canonicalize_name(match[1])] = (match[1], Version(match[2]))
    return pins


def binder_python(runtime_text: str) -> str:
    """``python-3.11`` (runtime.txt) -> ``3.11``."""
    match = re.fullmatch(r"python-(3\.\d+)", runtime_text.strip())
    if match is None:
        raise ValueError(f"binder/runtime.txt must read 'python-3.X', not {runtime_text!r}")
    return match[1]


def marker_environment(python: str) -> dict[str, str]:
    """PEP 508 marker values on Binder: Linux x86-64, CPython ``python``."""
    env = dict(default_environment())
    env.update(python_version=python, python_full_version=f"{python}.0", os_name="posix",
               sys_platform="linux", platform_system="Linux", platform_machine="x86_64",
               platform_python_implementation="CPython", implementation_name="cpython")
    return env


def roots(pyproject: dict) -> list[Requirement]:
    """kanlab's runtime dependencies plus those of :data:`ROOT_EXTRAS`."""
    project = pyproject["project"]
    reqs = list(project["dependencies"])
    for extra in ROOT_EXTRAS:
        reqs += project["optional-dependencies"][extra]
    return [Requirement(r) for r in reqs]


def closure(start: list[Requirement], env: dict[str, str], requires=None) -> set[str]:
    """Canonical names of ``start`` and everything they require under ``env``.

    ``requires(name)`` gives a distribution's requirement strings (default: the installed
    metadata); extras requested on the way (``pkg[extra]``) are followed.
    """
    requires = requires or (lambda name: metadata.requires(name) or [])
    seen: dict[str, set[str]] = {}  # name -> the extras already followed ("" = the base)
    todo = [r for r in start if r.marker is None or r.marker.evaluate({**env, "extra": ""})]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        new = ({""} | {canonicalize_name(e) for e in req.extras}) - seen.get(name, set())
        if not new:
            continue
        seen.setdefault(name, set()).update(new)
        for raw in requires(name):
            sub = Requirement(raw)
            if sub.marker is None or any(sub.marker.evaluate({**env, "extra": e}) for e in new):
                todo.append(sub)
    return set(seen)


def render(pyproject: dict, lock_text: str, runtime_text: str, requires=None,
           installed=None) -> str:
    """The text of binder/requirements.txt (see the module docstring)."""
    lock = read_lock(lock_text)
    python = binder_python(runtime_text)
    names = closure(roots(pyproject), marker_environment(python), requires) - BUILD_TOOLS
    names.discard("kanlab")
    missing = sorted(names - set(lock))
    if missing:
        raise SystemExit(f"not pinned in {LOCK.relative_to(REPO)}: {', '.join(missing)}")
    installed = installed or (lambda name: Version(metadata.version(name)))
    drift = {n: (str(installed(n)), str(lock[n][1])) for n in names
             if Version(installed(n).public) != lock[n][1]}
    if drift:
        raise SystemExit(f"this environment is not the locked one (installed, lock): {drift}; "
                         "run `make install` first")
    lines = [
        "# Binder's packages: generated from requirements/lock.txt by tools/binder.py; do not edit.",
        "# The closure of kanlab's runtime dependencies and its [" + ", ".join(ROOT_EXTRAS)
        + "] extra at the lock's versions,",
        "# without the test, benchmark and site tools. postBuild installs kanlab itself.",
        f"--extra-index-url {TORCH_INDEX}",
    ]
    for name in sorted(names, key=lambda n: lock[n][0].lower()):
        spelled, version = lock[name]
        local = "+cpu" if name == "torch" else ""
        lines.append(f"{spelled}=={version}{local}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    text = render(pyproject, LOCK.read_text(encoding="utf-8"), RUNTIME.read_text(encoding="utf-8"))
    if "--check" in argv:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(True), text.splitlines(True), str(OUT), "from the lock"))
            print("binder/requirements.txt is out of step with the lock: "
                  "run `python tools/binder.py`", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)} ({text.count(chr(10)) - 4} packages)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
