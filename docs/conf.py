"""Sphinx configuration of the course website (``make site``; tests/test_site.py).

Sphinx + myst-nb + sphinx-book-theme, all from PyPI and nothing fetched at build or view time:
the notebooks render from their committed outputs (never executed), MathJax is served from the
site itself (sphinx-mathjax-offline), the Binder/Colab badge images are local copies, and the
widgets show their stored static figures (no widget JavaScript from a CDN). The source folder is
the repository root (``sphinx-build -c docs . build/site``), so every notebook page's Binder and
Colab launch buttons open ``notebooks/<name>.ipynb`` of the repository in ``[tool.kanlab]``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("kanlab_badges", ROOT / "tools" / "badges.py")
_badges = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_badges)
REPO, REF = _badges.course_setting()

project = "kanlab"
author = "kanlab contributors"
copyright = "kanlab contributors, MIT licence"
root_doc = "docs/index"
extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx-mathjax-offline",
]
# Only the course and the docs are pages; the rest of the repository is not.
include_patterns = ["docs/*.md", "notebooks/*.ipynb"]
exclude_patterns = ["docs/_build", "build", ".venv", "**/.ipynb_checkpoints"]

# myst-nb: committed outputs only; no widget JavaScript (it would come from a CDN).
nb_execution_mode = "off"
nb_ipywidgets_js = {}
nb_render_markdown_format = "myst"
myst_enable_extensions = ["dollarmath", "amsmath", "html_image", "colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type"]

autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
# Modules that import KAN for type checking only: their "KAN" means the model (kanlab.scalar has one too).
autodoc_type_aliases = {"KAN": "kanlab.model.KAN"}

html_theme = "sphinx_book_theme"
html_title = "kanlab: Kolmogorov–Arnold Networks"
html_static_path = ["_static"]
html_favicon = "_static/favicon.svg"  # else browsers ask for a missing /favicon.ico
html_theme_options = {
    "repository_url": f"https://github.com/{REPO}",
    "repository_branch": REF,
    "path_to_docs": "",
    "use_repository_button": True,
    "launch_buttons": {
        "binderhub_url": "https://mybinder.org",
        "colab_url": "https://colab.research.google.com",
        "notebook_interface": "jupyterlab",
    },
}
html_context = {"default_mode": "light"}

# Badge images in the notebooks and README point at mybinder.org / colab: serve local copies.
BADGE_IMAGES = {
    "https://mybinder.org/badge_logo.svg": "/docs/_static/binder-badge.svg",
    "https://colab.research.google.com/assets/colab-badge.svg": "/docs/_static/colab-badge.svg",
}


def _local_badges(app, docname, source) -> None:
    """Rewrite the badge image URLs of a page's source to the site's own copies."""
    text = source[0]
    for url, local in BADGE_IMAGES.items():
        text = text.replace(url, local)
    source[0] = text


def _local_badges_in_doctree(app, doctree) -> None:
    from docutils import nodes

    for image in doctree.findall(nodes.image):
        uri = image.get("uri", "")
        if uri in BADGE_IMAGES:
            image["uri"] = BADGE_IMAGES[uri].lstrip("/")
            image["candidates"] = {"*": image["uri"]}


# kanlab defines no reST substitutions, but docstrings write absolute values and norms as |a − b|,
# log|f| or |phi|_1, which reST reads as (undefined) substitution references: escape every bar
# outside ``literals`` (which may span lines), except on table and line-block lines.
def _escape_bars(text: str, in_literal: bool) -> tuple[str, bool]:
    """``text`` with each ``|`` outside double-backtick literals escaped; the literal state after."""
    parts = text.split("``")
    for i, part in enumerate(parts):
        if (i % 2 == 1) == in_literal:  # outside a literal
            parts[i] = part.replace("|", "\\|")
    return "``".join(parts), in_literal != (len(parts) % 2 == 0)


def _escape_absolute_values(app, what, name, obj, options, lines: list[str]) -> None:
    """autodoc hook: ``|f − target|`` in a docstring is text, not a substitution reference."""
    in_literal = False
    for i, line in enumerate(lines):
        if line.lstrip()[:1] in ("|", "+") and not in_literal:
            continue  # a grid table or a line block
        lines[i], in_literal = _escape_bars(line, in_literal)


def setup(app) -> None:
    app.connect("source-read", _local_badges)
    app.connect("autodoc-process-docstring", _escape_absolute_values)
    app.connect("doctree-read", _local_badges_in_doctree)
    app.connect("build-finished", _redirect_root)




def _redirect_root(app, exc) -> None:
    """build/site/index.html opens the course's first page (the root document is docs/index)."""
    if exc is None and app.builder.format == "html":
        (Path(app.outdir) / "index.html").write_text(
            '<!DOCTYPE html><meta charset="utf-8"><title>kanlab</title>'
            '<meta http-equiv="refresh" content="0; url=docs/index.html">'
            '<a href="docs/index.html">kanlab: the course</a>\n', encoding="utf-8")
