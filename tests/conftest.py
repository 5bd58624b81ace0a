"""Shared fixtures: small generated jet files, made once per test session."""

import os

import pytest

from kerasjet.data.generate import GeneratorSettings, generate

# quiet TensorFlow's start-up chatter in test logs
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SMALL_BLOCKS = GeneratorSettings(block_size=20)


@pytest.fixture(scope="session")
def jets_file(tmp_path_factory):
    """300 generated jets (150 top, 150 QCD), seed 7, the default recipe (detector level)."""
    path = tmp_path_factory.mktemp("jets") / "jets.h5"
    generate(str(path), 300, seed=7, show_progress=False)
    return str(path)


@pytest.fixture(scope="session")
def thousand_jets(tmp_path_factory):
    """1000 generated jets (seed 9, detector level): the C simulation tests' test set."""
    path = tmp_path_factory.mktemp("jets") / "jets_1000.h5"
    generate(str(path), 1000, seed=9, show_progress=False)
    return str(path)
