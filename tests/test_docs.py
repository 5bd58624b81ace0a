"""The documentation site builds with warnings as errors (what `make docs` runs), and the release
metadata agrees on one version: kerasjet.__version__, `kerasjet --version`, the installed
package (setup.cfg reads the attribute), CITATION.cff and CHANGELOG.md."""

import configparser
import importlib.metadata
import os
import re
import subprocess
import sys

import pytest

import kerasjet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_docs_build_without_warnings(tmp_path):
    """sphinx-build -W --keep-going over docs/ (about 15 s; notebooks rendered, not executed)."""
    pytest.importorskip("sphinx", reason="the docs extra is not installed: pip install -e '.[docs]'")
    result = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                             "-d", str(tmp_path / "doctrees"), os.path.join(ROOT, "docs"), str(tmp_path / "html")],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    problems = [line for line in result.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    assert result.returncode == 0, "\n".join(problems) or result.stderr[-3000:]
    for page in ("index", "getting-started", "guide/yaml", "api/index", "results/study-detector", "tutorials/index",
                 "tutorials/notebooks/train_nanopelican"):
        assert (tmp_path / "html" / f"{page}.html").is_file(), page


def test_results_pages_include_committed_files():
    """Every results/ table a docs page includes exists (an include of a moved file would fail the
    build only when the page is rebuilt)."""
    includes = []
    for folder, _, files in os.walk(os.path.join(ROOT, "docs")):
        if "_build" in folder:
            continue
        for name in files:
            if name.endswith(".md"):
                path = os.path.join(folder, name)
                for target in re.findall(r"^```\{include\} (\S+)", open(path, encoding="utf-8").read(), re.M):
                    includes.append(os.path.normpath(os.path.join(folder, target)))
    assert any(p.endswith(os.path.join("results", "study", "detector", "tables.md")) for p in includes)
    missing = [p for p in includes if not os.path.isfile(p)]
    assert not missing


def test_one_version_everywhere(capsys):
    from kerasjet.cli import main

    version = kerasjet.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert main(["--version"]) == 0 and capsys.readouterr().out == f"kerasjet {version}\n"
    setup = configparser.ConfigParser()
    setup.read(os.path.join(ROOT, "setup.cfg"))
    assert setup["metadata"]["version"] == "attr: kerasjet.__version__"
    assert importlib.metadata.version("kerasjet") == version
    citation = open(os.path.join(ROOT, "CITATION.cff"), encoding="utf-8").read()
    assert re.search(rf"^version: {re.escape(version)}$", citation, re.M)
    assert "arXiv:2310.16121" in citation
    changelog = open(os.path.join(ROOT, "CHANGELOG.md"), encoding="utf-8").read()
    assert re.search(rf"^## {re.escape(version)}\b", changelog, re.M)


def test_readme_is_a_front_door():
    """README.md: at most 200 lines, the two set-up commands, every relative link resolves (to the
    docs' Markdown sources, so that they work on GitHub)."""
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    assert len(text.splitlines()) <= 200
    assert "make demo" in text and "make test" in text and "make docs" in text
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    relative = [link.split("#")[0] for link in links if not re.match(r"[a-z]+://", link) and not link.startswith("#")]
    assert any(link.startswith("docs/") for link in relative)
    missing = [link for link in relative if not os.path.exists(os.path.join(ROOT, link))]
    assert not missing
    assert "DESIGN.md" not in text
