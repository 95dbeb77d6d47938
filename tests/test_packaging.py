"""The places that name kanlab's dependencies must agree.

``pyproject.toml`` declares them, ``requirements/lock.txt`` pins exact versions (pip
constraints for the Makefile and CI) and ``binder/requirements.txt`` is generated from the lock
(``tools/binder.py``: the closure of what a student's JupyterLab needs, CPU torch). A runtime
dependency missing from one of them, or a version that disagrees with the lock, is a course that
works on one machine and not on the next; these tests name the package and the file.
``make binder-check`` builds Binder's environment for real.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import re
import stat
import subprocess
import sys
import threading
import time
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

BINDER_REQ = "binder/requirements.txt"
# Test, benchmark and site tools: in the lock, never in Binder's environment.
NOT_FOR_BINDER = {"pytest", "pytest-timeout", "nbval", "ruff", "hypothesis", "playwright",
                  "coverage", "pykan", "pandas", "scikit-learn", "sphinx", "myst-nb"}


def _load_binder_tool(repo_root: Path):
    spec = importlib.util.spec_from_file_location("kanlab_binder_tool", repo_root / "tools" / "binder.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- parsing ---------------------------------------------------------------------------------
def read_lock(text: str) -> dict[str, Version]:
    """``name==version`` lines (comments and blanks skipped) -> {canonical name: version}."""
    pins: dict[str, Version] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        if match is None:
            raise ValueError(f"lock line is not an exact pin 'name==version': {raw!r}")
        pins[canonicalize_name(match[1])] = Version(match[2])
    return pins


def read_requirements(text: str) -> tuple[list[str], dict[str, Version]]:
    """A pip requirements file of exact pins -> (option lines, {canonical name: version})."""
    options, pins = [], {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-"):
            options.append(line)
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        if match is None:
            raise ValueError(f"requirement is not an exact pin 'name==version': {raw!r}")
        pins[canonicalize_name(match[1])] = Version(match[2])
    return options, pins


def packaging_problems(
    pyproject: dict, lock: dict[str, Version], binder: dict[str, Version]
) -> list[str]:
    """Every disagreement between pyproject, the lock and Binder's requirements."""
    project = pyproject["project"]
    runtime = [Requirement(r) for r in project["dependencies"]]
    extras = [Requirement(r) for deps in project["optional-dependencies"].values() for r in deps]
    problems = []
    for req in runtime + extras:
        name = canonicalize_name(req.name)
        if name not in lock:
            problems.append(f"{req.name}: declared in pyproject.toml but not pinned in the lock")
        elif not req.specifier.contains(lock[name], prereleases=True):
            problems.append(
                f"{req.name}: lock pins {lock[name]}, outside pyproject's {req.specifier}"
            )
    for req in runtime:
        if canonicalize_name(req.name) not in binder:
            problems.append(f"{req.name}: runtime dependency missing from {BINDER_REQ}")
    for name, version in binder.items():
        if name not in lock:
            problems.append(f"{name}: pinned in {BINDER_REQ} but absent from the lock")
        elif Version(version.public) != lock[name]:
            problems.append(f"{name}: {BINDER_REQ} pins {version}, the lock pins {lock[name]}")
    return problems


# --- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pyproject(repo_root: Path) -> dict:
    return tomllib.loads((repo_root / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def lock(repo_root: Path) -> dict[str, Version]:
    return read_lock((repo_root / "requirements/lock.txt").read_text())


@pytest.fixture(scope="module")
def binder_req(repo_root: Path) -> tuple[list[str], dict[str, Version]]:
    return read_requirements((repo_root / BINDER_REQ).read_text())


# --- the real files agree ---------------------------------------------------------------------
def test_pyproject_lock_and_binder_agree(pyproject, lock, binder_req) -> None:
    assert packaging_problems(pyproject, lock, binder_req[1]) == []


def test_binder_requirements_are_generated_from_the_lock(repo_root: Path) -> None:
    """binder/requirements.txt is exactly what tools/binder.py makes of the lock (re-run
    `make binder` after changing the lock or the extras)."""
    tool = _load_binder_tool(repo_root)
    try:
        text = tool.render(tomllib.loads((repo_root / "pyproject.toml").read_text()),
                           (repo_root / "requirements/lock.txt").read_text(),
                           (repo_root / "binder/runtime.txt").read_text())
    except metadata.PackageNotFoundError as err:
        pytest.skip(f"this environment lacks {err}: the closure is read from installed metadata")
    assert (repo_root / BINDER_REQ).read_text() == text, "run `make binder`"


def test_binder_gets_cpu_torch_and_no_test_tools(binder_req) -> None:
    options, pins = binder_req
    assert options == ["--extra-index-url https://download.pytorch.org/whl/cpu"]
    assert pins["torch"].local == "cpu"
    assert NOT_FOR_BINDER.isdisjoint(pins), sorted(NOT_FOR_BINDER & set(pins))
    assert {"jupyterlab", "ipykernel", "ipywidgets", "ipympl"} <= set(pins)


def test_binder_is_built_from_pip_files_only(pyproject, repo_root: Path) -> None:
    """repo2docker prefers binder/environment.yml (or Pipfile, ...) over requirements.txt."""
    binder = repo_root / "binder"
    assert sorted(p.name for p in binder.iterdir()) == [
        "apt.txt", "postBuild", "requirements.txt", "runtime.txt"]
    assert (binder / "runtime.txt").read_text().strip() == "python-3.11"  # the lock's Python
    assert SpecifierSet(pyproject["project"]["requires-python"]).contains("3.11")
    assert "graphviz" in (binder / "apt.txt").read_text().split()


def test_local_conda_environment_installs_from_the_lock(repo_root: Path) -> None:
    env = yaml.safe_load((repo_root / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps and "graphviz" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert "-c requirements/lock.txt" in pip and "-e .[dev]" in pip
    assert [c for c in env["channels"] if c != "nodefaults"] == ["conda-forge"]


def test_lock_pins_the_cpu_torch_this_course_is_tested_with(lock) -> None:
    assert lock["torch"] == Version("2.13.0")


def test_runtime_dependencies_are_the_documented_ones(pyproject) -> None:
    names = {canonicalize_name(Requirement(r).name) for r in pyproject["project"]["dependencies"]}
    assert names == {
        "torch", "numpy", "scipy", "matplotlib", "ipywidgets", "pillow",
        "graphviz", "sympy", "tqdm", "ipython",
    }  # fmt: skip
    # ipympl is imported only under `%matplotlib widget`: an extra, not a runtime dependency.
    assert pyproject["project"]["optional-dependencies"]["ipympl"] == ["ipympl"]


def test_requires_python_is_the_floor_the_lock_needs(pyproject, lock) -> None:
    """numpy 2.4, scipy 1.17 and ipython 9 dropped Python 3.10: the lock cannot install there."""
    assert pyproject["project"]["requires-python"] == ">=3.11"
    assert lock["numpy"] >= Version("2.3") and lock["ipython"] >= Version("9")
    assert pyproject["tool"]["ruff"]["target-version"] == "py311"


def test_imported_third_party_modules_are_declared(pyproject) -> None:
    """Pillow (kanlab.widgets) at run time and PyYAML (this test) in the dev extra."""
    names = lambda reqs: {canonicalize_name(Requirement(r).name) for r in reqs}  # noqa: E731
    assert "pillow" in names(pyproject["project"]["dependencies"])
    assert {"pyyaml", "ipympl"} <= names(pyproject["project"]["optional-dependencies"]["dev"])


def test_bench_extra_brings_what_pykan_imports(pyproject) -> None:
    # pykan declares no dependencies; its modules import these beyond our runtime ones.
    bench = {
        canonicalize_name(Requirement(r).name)
        for r in pyproject["project"]["optional-dependencies"]["bench"]
    }
    assert {"pykan", "pandas", "scikit-learn", "pyyaml"} <= bench


def test_every_kanlab_subpackage_is_packaged(pyproject, repo_root: Path) -> None:
    """setuptools discovers kanlab* packages; every folder of Python files under kanlab/ must be
    one (an __init__.py), or its modules would be missing from an installed kanlab."""
    from setuptools import find_packages

    find = pyproject["tool"]["setuptools"]["packages"]["find"]
    assert find == {"include": ["kanlab*"]}
    found = set(find_packages(where=str(repo_root), include=find["include"]))
    with_code = {
        ".".join(p.parent.relative_to(repo_root).parts)
        for p in (repo_root / "kanlab").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert with_code <= found, f"folders without __init__.py: {sorted(with_code - found)}"
    assert {"kanlab", "kanlab.widgets"} <= found


def test_installed_versions_match_the_lock(pyproject, lock) -> None:
    """The environment running these tests is the locked one (run `make test` to sync it)."""
    drift = {}
    for raw in pyproject["project"]["dependencies"]:
        name = canonicalize_name(Requirement(raw).name)
        installed = Version(metadata.version(name))
        if Version(installed.public) != lock[name]:  # 2.13.0+cpu is torch 2.13.0
            drift[name] = (str(installed), str(lock[name]))
    assert drift == {}, f"installed vs lock: {drift}"


def test_installed_kanlab_version_is_the_package_version() -> None:
    import kanlab

    try:
        assert metadata.version("kanlab") == kanlab.__version__
    except metadata.PackageNotFoundError:
        pytest.skip("kanlab is imported from the source tree, not installed")


def test_the_c_kernels_are_built_where_they_are_required(pyproject, repo_root: Path) -> None:
    """kanlab's C kernels are optional (a machine without a C compiler runs pure torch), so a
    failed build is silent at install time. CI sets KANLAB_REQUIRE_KERNELS=1 where it has a
    compiler: there the extension must have been built, else its tests would all be skipped."""
    from kanlab import kernels

    ext = pyproject["tool"]["setuptools"]["ext-modules"]
    assert [e["name"] for e in ext] == ["kanlab._cbasis"] and ext[0]["optional"] is True
    assert all((repo_root / src).is_file() for src in ext[0]["sources"] + ext[0]["depends"])
    if os.environ.get("KANLAB_REQUIRE_KERNELS") == "1":
        assert kernels._cbasis is not None, "kanlab._cbasis was not built (pip install -e . with a C compiler)"


def test_binder_postbuild_installs_kanlab_without_touching_dependencies(repo_root: Path) -> None:
    post = repo_root / "binder" / "postBuild"
    text = post.read_text()
    assert text.startswith("#!"), "postBuild needs a shebang line"
    assert re.search(r"^set -e", text, re.M), "postBuild must stop at the first failure"
    assert "pip install --no-deps -e ." in text
    assert post.stat().st_mode & stat.S_IXUSR, "postBuild must be executable"


def test_ci_runs_the_readme_test_command(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text()
    ci = (repo_root / ".ci" / "run").read_text()
    workflow = (repo_root / ".github" / "workflows" / "ci.yml").read_text()
    assert "make test" in readme and "make test" in ci
    assert "set -euo pipefail" in ci
    assert os.access(repo_root / ".ci" / "run", os.X_OK)
    assert ".ci/run" in workflow
    assert "make binder-check" in ci  # Binder's environment is built and tested in CI
    assert "PIP_EXTRA_INDEX_URL" not in workflow  # the Makefile's CPU index default serves both


# --- the checker itself catches what it claims to ----------------------------------------------
def _toy() -> tuple[dict, dict[str, Version], dict[str, Version]]:
    pyproject = {
        "project": {
            "requires-python": ">=3.11",
            "dependencies": ["torch>=2.2,<3", "numpy", "graphviz"],
            "optional-dependencies": {"dev": ["pytest"]},
        }
    }
    lock = read_lock("# pins\ntorch==2.13.0\nnumpy==2.4.6\ngraphviz==0.21\npytest==9.2.0\n")
    _, binder = read_requirements(
        "--extra-index-url https://x\ntorch==2.13.0+cpu\nnumpy==2.4.6\ngraphviz==0.21\n"
    )
    return pyproject, lock, binder


def test_checker_accepts_a_consistent_set() -> None:
    assert packaging_problems(*_toy()) == []


def test_checker_reports_a_runtime_dependency_missing_from_binder() -> None:
    pyproject, lock, binder = _toy()
    del binder["numpy"]
    assert packaging_problems(pyproject, lock, binder) == [
        f"numpy: runtime dependency missing from {BINDER_REQ}"
    ]


def test_checker_reports_a_pin_that_disagrees_with_the_lock() -> None:
    pyproject, lock, binder = _toy()
    binder["torch"] = Version("2.12.0+cpu")
    assert packaging_problems(pyproject, lock, binder) == [
        f"torch: {BINDER_REQ} pins 2.12.0+cpu, the lock pins 2.13.0"
    ]


def test_checker_reports_unlocked_dependencies() -> None:
    pyproject, lock, binder = _toy()
    del lock["pytest"]
    binder["six"] = Version("1.17.0")
    assert packaging_problems(pyproject, lock, binder) == [
        "pytest: declared in pyproject.toml but not pinned in the lock",
        f"six: pinned in {BINDER_REQ} but absent from the lock",
    ]


def test_checker_reports_a_lock_outside_the_declared_range() -> None:
    pyproject, lock, binder = _toy()
    lock["torch"] = Version("3.0.0")
    binder["torch"] = Version("3.0.0")
    assert packaging_problems(pyproject, lock, binder) == [
        "torch: lock pins 3.0.0, outside pyproject's <3,>=2.2"
    ]


def test_binder_closure_follows_extras_and_markers(repo_root: Path) -> None:
    tool = _load_binder_tool(repo_root)
    graph = {
        "a": ["b", "c[fast]", "d; python_version < '3.11'", "e; extra == 'docs'"],
        "b": [], "c": ["f; extra == 'fast'", "g; extra == 'slow'"], "d": [], "e": [], "f": [],
        "g": [],
    }  # fmt: skip
    env = tool.marker_environment("3.11")
    assert tool.closure([Requirement("a")], env, graph.__getitem__) == {"a", "b", "c", "f"}
    assert tool.closure([Requirement("a[docs]")], env, graph.__getitem__) == {"a", "b", "c", "e", "f"}
    assert tool.closure([Requirement("a")], tool.marker_environment("3.10"), graph.__getitem__) == {
        "a", "b", "c", "d", "f"}


def test_lock_reader_rejects_loose_pins() -> None:
    with pytest.raises(ValueError, match="exact pin"):
        read_lock("numpy>=2\n")
    with pytest.raises(ValueError, match="exact pin"):
        read_requirements("numpy>=2\n")


def test_badges_rewrite_every_link_and_back(repo_root: Path) -> None:
    """`make badges REPO=... REF=...` moves every link kind, and moving back restores the text."""
    spec = importlib.util.spec_from_file_location("kanlab_badges", repo_root / "tools" / "badges.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    old, new = ("kanlab-course/kanlab", "main"), ("Some-One/fork", "v2026.1")
    text = (
        f"[b]({tool.binder_url(*old, '00_x')}) [c]({tool.colab_url(*old, '00_x')})\n"
        '%pip install -q "kanlab @ git+https://github.com/kanlab-course/kanlab"\n'
        "https://github.com/kanlab-course/kanlab/actions https://github.com/kanlab-course/kanlab2\n"
        f"{tool.site_url(old[0])}\n"
    )
    out = tool.rewrite(text, old, new)
    assert tool.binder_url(*new, "00_x") in out and tool.colab_url(*new, "00_x") in out
    assert "git+https://github.com/Some-One/fork@v2026.1\"" in out
    assert "https://github.com/Some-One/fork/actions" in out
    assert "https://github.com/kanlab-course/kanlab2" in out  # another repository: untouched
    assert "https://some-one.github.io/fork/" in out
    assert tool.rewrite(out, new, old) == text
    pyproject = '[tool.kanlab]\nrepo = "a/b"\nref = "main"\n\n[tool.x]\nref = "keep"\n'
    assert tool.set_course(pyproject, "c/d", "v1") == pyproject.replace('"a/b"', '"c/d"').replace(
        'ref = "main"', 'ref = "v1"')


def test_release_files_name_this_version_and_repository(repo_root: Path) -> None:
    import kanlab

    citation = yaml.safe_load((repo_root / "CITATION.cff").read_text(encoding="utf-8"))
    repo = tomllib.loads((repo_root / "pyproject.toml").read_text())["tool"]["kanlab"]["repo"]
    assert citation["version"] == kanlab.__version__
    assert citation["repository-code"] == f"https://github.com/{repo}"
    assert f"## {kanlab.__version__}" in (repo_root / "CHANGELOG.md").read_text(encoding="utf-8")
    contributing = (repo_root / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert "make notebooks NB=" in contributing and "make badges" in contributing
    hooks = yaml.safe_load((repo_root / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    ids = {h["id"] for r in hooks["repos"] for h in r["hooks"]}
    assert {"ruff", "check-added-large-files", "notebook-hygiene"} <= ids


# --- CPU torch by default: the Makefile asks tools/torch_index.py about PyTorch's CPU index -----
def _torch_index(repo_root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(repo_root / "tools" / "torch_index.py"), *args],
                          capture_output=True, text=True, timeout=30)


def test_makefile_installs_cpu_torch_by_default_on_linux(repo_root: Path) -> None:
    def install_line(*overrides: str) -> str:
        run = subprocess.run(["make", "-n", "-W", "pyproject.toml", "VENV=.venv", *overrides,
                              ".venv/.stamp-install"], cwd=repo_root, capture_output=True, text=True,
                             timeout=60)
        lines = [line for line in run.stdout.splitlines() if "-e \".[dev,docs]\"" in line]
        assert len(lines) == 1, run.stdout + run.stderr
        return lines[0]

    if sys.platform.startswith("linux"):
        assert 'tools/torch_index.py "https://download.pytorch.org/whl/cpu"' in install_line()
    gpu = "https://download.pytorch.org/whl/cu126"
    assert f'tools/torch_index.py "{gpu}"' in install_line(f"TORCH_INDEX={gpu}")  # GPU users
    assert 'tools/torch_index.py ""' in install_line("TORCH_INDEX=")  # PyPI's default build


def test_torch_index_is_passed_only_when_it_answers(repo_root: Path, tmp_path: Path) -> None:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/whl/cpu"
    try:
        (tmp_path / "whl" / "cpu" / "torch").mkdir(parents=True)
        answers = _torch_index(repo_root, url)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert answers.stdout.strip() == f"--extra-index-url {url}"
    start = time.monotonic()
    silent = _torch_index(repo_root, url)  # the server is gone: nothing for pip, a note, no wait
    assert silent.returncode == 0 and silent.stdout == "" and "does not answer" in silent.stderr
    assert time.monotonic() - start < 10
    assert _torch_index(repo_root, "").stdout == ""  # TORCH_INDEX= : no extra index
