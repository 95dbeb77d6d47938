"""The four places that name kanlab's dependencies must agree.

``pyproject.toml`` declares them, ``requirements/lock.txt`` pins exact versions (pip
constraints for the Makefile and CI), ``binder/environment.yml`` (Binder) and
``environment.yml`` (local conda) install them from conda-forge. A runtime dependency missing
from one of them, or a version that disagrees with the lock, is a course that works on one
machine and not on the next; these tests name the package and the file.
"""

from __future__ import annotations

import os
import re
import stat
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")  # stdlib from Python 3.11

# conda-forge name -> PyPI name, where they differ.
CONDA_TO_PYPI = {
    "pytorch-cpu": "torch",
    "pytorch": "torch",
    "python-graphviz": "graphviz",
    "matplotlib-base": "matplotlib",
}
# conda packages with no PyPI counterpart to compare (the interpreter, pip, the dot binary).
CONDA_ONLY = {"python", "pip", "graphviz", "nodejs"}
ENV_FILES = ("binder/environment.yml", "environment.yml")


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


def read_conda_env(text: str) -> dict[str, str | None]:
    """A conda environment file -> {canonical PyPI-side name: pinned version or None}.

    Only exact pins (``name==1.2.3``) count as versions; the ``pip:`` sub-list is skipped.
    conda-forge names are mapped to PyPI names (``pytorch-cpu`` -> ``torch``).
    """
    env = yaml.safe_load(text)
    out: dict[str, str | None] = {}
    for dep in env.get("dependencies", []):
        if not isinstance(dep, str):
            continue  # the {"pip": [...]} entry
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:(==?)\s*([^\s=]+))?", dep.strip())
        if match is None:
            raise ValueError(f"cannot read conda dependency {dep!r}")
        name = match[1].lower()
        if name == "python":
            out["python"] = match[3]
            continue
        if name in CONDA_ONLY:
            continue
        out[canonicalize_name(CONDA_TO_PYPI.get(name, name))] = (
            match[3] if match[2] == "==" else None
        )
    return out


def packaging_problems(
    pyproject: dict, lock: dict[str, Version], envs: dict[str, dict[str, str | None]]
) -> list[str]:
    """Every disagreement between pyproject, the lock and the conda environment files."""
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
    for path, env in envs.items():
        for req in runtime:
            name = canonicalize_name(req.name)
            if name not in env:
                problems.append(f"{req.name}: runtime dependency missing from {path}")
            elif env[name] is None:
                problems.append(f"{req.name}: not pinned (==) in {path}")
        for name, version in env.items():
            if name == "python" or version is None:
                continue
            if name not in lock:
                problems.append(f"{name}: pinned in {path} but absent from the lock")
            elif Version(version) != lock[name]:
                problems.append(f"{name}: {path} pins {version}, the lock pins {lock[name]}")
        python = env.get("python")
        if python is None or not SpecifierSet(project["requires-python"]).contains(python + ".0"):
            problems.append(f"{path}: python {python} does not meet {project['requires-python']}")
    return problems


# --- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pyproject(repo_root: Path) -> dict:
    return tomllib.loads((repo_root / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def lock(repo_root: Path) -> dict[str, Version]:
    return read_lock((repo_root / "requirements/lock.txt").read_text())


@pytest.fixture(scope="module")
def envs(repo_root: Path) -> dict[str, dict[str, str | None]]:
    return {p: read_conda_env((repo_root / p).read_text()) for p in ENV_FILES}


# --- the real files agree ---------------------------------------------------------------------
def test_pyproject_lock_and_environments_agree(pyproject, lock, envs) -> None:
    assert packaging_problems(pyproject, lock, envs) == []


def test_both_environment_files_list_the_same_conda_packages(envs) -> None:
    binder, local = (envs[p] for p in ENV_FILES)
    assert binder == local


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


def test_environment_files_use_conda_forge_only(repo_root: Path) -> None:
    for path in ENV_FILES:
        channels = yaml.safe_load((repo_root / path).read_text())["channels"]
        assert [c for c in channels if c != "nodefaults"] == ["conda-forge"], path


def test_ci_runs_the_readme_test_command(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text()
    ci = (repo_root / ".ci" / "run").read_text()
    workflow = (repo_root / ".github" / "workflows" / "ci.yml").read_text()
    assert "make test" in readme and "make test" in ci
    assert "set -euo pipefail" in ci
    assert os.access(repo_root / ".ci" / "run", os.X_OK)
    assert ".ci/run" in workflow


# --- the checker itself catches what it claims to ----------------------------------------------
def _toy() -> tuple[dict, dict[str, Version], dict[str, dict[str, str | None]]]:
    pyproject = {
        "project": {
            "requires-python": ">=3.10",
            "dependencies": ["torch>=2.2,<3", "numpy", "graphviz"],
            "optional-dependencies": {"dev": ["pytest"]},
        }
    }
    lock = read_lock("# pins\ntorch==2.13.0\nnumpy==2.4.6\ngraphviz==0.21\npytest==9.2.0\n")
    env_text = (
        "channels: [conda-forge]\ndependencies:\n  - python=3.11\n  - graphviz\n"
        "  - pytorch-cpu==2.13.0\n  - numpy==2.4.6\n  - python-graphviz==0.21\n"
        "  - pip:\n      - -e .\n"
    )
    return pyproject, lock, {"env.yml": read_conda_env(env_text)}


def test_checker_accepts_a_consistent_set() -> None:
    assert packaging_problems(*_toy()) == []


def test_checker_maps_conda_names_and_skips_the_dot_binary() -> None:
    env = _toy()[2]["env.yml"]
    assert env == {"python": "3.11", "torch": "2.13.0", "numpy": "2.4.6", "graphviz": "0.21"}


def test_checker_reports_a_runtime_dependency_missing_from_an_environment() -> None:
    pyproject, lock, envs = _toy()
    del envs["env.yml"]["numpy"]
    assert packaging_problems(pyproject, lock, envs) == [
        "numpy: runtime dependency missing from env.yml"
    ]


def test_checker_reports_a_pin_that_disagrees_with_the_lock() -> None:
    pyproject, lock, envs = _toy()
    envs["env.yml"]["torch"] = "2.12.0"
    assert packaging_problems(pyproject, lock, envs) == [
        "torch: env.yml pins 2.12.0, the lock pins 2.13.0"
    ]


def test_checker_reports_unpinned_and_unlocked_dependencies() -> None:
    pyproject, lock, envs = _toy()
    envs["env.yml"]["numpy"] = None
    del lock["pytest"]
    assert packaging_problems(pyproject, lock, envs) == [
        "pytest: declared in pyproject.toml but not pinned in the lock",
        "numpy: not pinned (==) in env.yml",
    ]


def test_checker_reports_a_lock_outside_the_declared_range() -> None:
    pyproject, lock, envs = _toy()
    lock["torch"] = Version("3.0.0")
    envs["env.yml"]["torch"] = "3.0.0"
    assert packaging_problems(pyproject, lock, envs) == [
        "torch: lock pins 3.0.0, outside pyproject's <3,>=2.2"
    ]


def test_lock_reader_rejects_loose_pins() -> None:
    with pytest.raises(ValueError, match="exact pin"):
        read_lock("numpy>=2\n")
