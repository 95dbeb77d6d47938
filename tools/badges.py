"""Point every badge, launch button and install line at one GitHub repository and git ref.

    python tools/badges.py --repo someone/fork [--ref v2026.1]     (make badges REPO=... REF=...)

The repository slug and ref live in one place, ``[tool.kanlab]`` of ``pyproject.toml``; the
notebook-hygiene test, the website's launch buttons (docs/conf.py) and this script read it. A
fork runs ``make badges REPO=org/name`` once; an instructor pins a course term to a tag with
``make badges REF=v2026.1`` (Binder and Colab then open that tag, Colab's install line installs
it). Files are edited as text, so notebooks keep their cell ids and outputs byte for byte.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = REPO_ROOT / "pyproject.toml"
# Where the links live (globs from the repository root).
FILES = ("README.md", "CONTRIBUTING.md", "CITATION.cff", "pyproject.toml", "docs/*.md",
         "notebooks/*.ipynb", "kanlab/**/*.py")
SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+")
REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")


def course_setting(pyproject_text: str | None = None) -> tuple[str, str]:
    """(repo slug, git ref) from ``[tool.kanlab]``."""
    text = pyproject_text if pyproject_text is not None else PYPROJECT.read_text(encoding="utf-8")
    setting = tomllib.loads(text)["tool"]["kanlab"]
    return setting["repo"], setting["ref"]


def binder_ref(ref: str) -> str:
    """Binder's name for ``ref``: the default branch is ``HEAD``."""
    return "HEAD" if ref == "main" else ref


def binder_url(repo: str, ref: str, notebook: str) -> str:
    """The Binder link that opens ``notebooks/<notebook>.ipynb`` in JupyterLab."""
    return f"https://mybinder.org/v2/gh/{repo}/{binder_ref(ref)}?labpath=notebooks/{notebook}.ipynb"


def voila_url(repo: str, ref: str, notebook: str) -> str:
    """The Binder link that opens ``notebooks/<notebook>.ipynb`` as a Voila app."""
    return (f"https://mybinder.org/v2/gh/{repo}/{binder_ref(ref)}"
            f"?urlpath=voila/render/notebooks/{notebook}.ipynb")


def colab_url(repo: str, ref: str, notebook: str) -> str:
    """The Colab link that opens ``notebooks/<notebook>.ipynb``."""
    return f"https://colab.research.google.com/github/{repo}/blob/{ref}/notebooks/{notebook}.ipynb"


def site_url(repo: str) -> str:
    """The GitHub Pages address of the course website."""
    org, name = repo.split("/")
    return f"https://{org.lower()}.github.io/{name}/"


def rewrite(text: str, old: tuple[str, str], new: tuple[str, str]) -> str:
    """``text`` with every link to ``old`` (repo, ref) pointing at ``new``."""
    (old_repo, old_ref), (new_repo, new_ref) = old, new
    o, n = re.escape(old_repo), new_repo
    pin = "" if new_ref == "main" else f"@{new_ref}"
    text = re.sub(rf"mybinder\.org/v2/gh/{o}/{re.escape(binder_ref(old_ref))}\b",
                  f"mybinder.org/v2/gh/{n}/{binder_ref(new_ref)}", text)
    text = re.sub(rf"colab\.research\.google\.com/github/{o}/blob/{re.escape(old_ref)}/",
                  f"colab.research.google.com/github/{n}/blob/{new_ref}/", text)
    old_pin = "" if old_ref == "main" else re.escape(f"@{old_ref}")
    text = re.sub(rf"git\+https://github\.com/{o}{old_pin}(?![A-Za-z0-9._-])",
                  f"git+https://github.com/{n}{pin}", text)
    text = re.sub(rf"(?<!git\+)https://github\.com/{o}(?![A-Za-z0-9._-])",
                  f"https://github.com/{n}", text)
    text = text.replace(site_url(old_repo), site_url(new_repo))
    return text


def set_course(pyproject_text: str, repo: str, ref: str) -> str:
    """``pyproject.toml`` with ``[tool.kanlab]`` set to ``repo`` and ``ref``."""
    section = re.search(r"(?ms)^\[tool\.kanlab\]\n.*?(?=^\[|\Z)", pyproject_text)
    if section is None:
        raise SystemExit("pyproject.toml has no [tool.kanlab] section")
    body = re.sub(r'(?m)^repo = ".*"$', f'repo = "{repo}"', section[0])
    body = re.sub(r'(?m)^ref = ".*"$', f'ref = "{ref}"', body)
    return pyproject_text[: section.start()] + body + pyproject_text[section.end():]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", help="GitHub owner/name (default: the current setting)")
    parser.add_argument("--ref", help="git branch or tag the links open (default: current)")
    args = parser.parse_args(argv)
    old = course_setting()
    new = (args.repo or old[0], args.ref or old[1])
    if not SLUG.fullmatch(new[0]):
        parser.error(f"--repo must look like owner/name, not {new[0]!r}")
    if not REF.fullmatch(new[1]):
        parser.error(f"--ref must be a git branch or tag name, not {new[1]!r}")
    changed = []
    for pattern in FILES:
        for path in sorted(REPO_ROOT.glob(pattern)):
            text = path.read_text(encoding="utf-8")
            out = rewrite(text, old, new)
            if path == PYPROJECT:
                out = set_course(out, *new)
            if out != text:
                path.write_text(out, encoding="utf-8")
                changed.append(path.relative_to(REPO_ROOT).as_posix())
    print(f"links now open {new[0]} at {new[1]} (were {old[0]} at {old[1]}); "
          f"{len(changed)} files changed: {' '.join(changed) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
