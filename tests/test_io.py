"""Readers of both layouts and the bad-input cases: one clear error, no partial output."""

import h5py
import numpy as np
import pandas as pd
import pytest

from kerasjet.cli import main
from kerasjet.data.io import JetArrays, read_jets, write_jets
from kerasjet.errors import KerasjetError


def random_jets(n=6, slots=5, seed=0):
    rng = np.random.default_rng(seed)
    nobj = rng.integers(1, slots + 1, n).astype(np.int32)
    p3 = rng.normal(0, 50, (n, slots, 3))
    pmu = np.concatenate([np.linalg.norm(p3, axis=-1, keepdims=True), p3], axis=-1).astype(np.float32)
    pmu[np.arange(slots)[None, :] >= nobj[:, None]] = 0
    truth = rng.normal(0, 100, (n, 4)).astype(np.float32)
    return JetArrays(pmu, nobj, rng.integers(0, 2, n).astype(np.int8), truth)


def write_reference(path, jets):
    """The reference dataset's layout, written as its authors did: pandas DataFrame.to_hdf."""
    columns = {}
    for i in range(jets.pmu.shape[1]):
        for c, name in enumerate(("E", "PX", "PY", "PZ")):
            columns[f"{name}_{i}"] = jets.pmu[:, i, c]
    for c, name in enumerate(("truthE", "truthPX", "truthPY", "truthPZ")):
        columns[name] = jets.truth_pmu[:, c]
    columns["ttv"] = np.zeros(len(jets), np.int64)
    columns["is_signal_new"] = jets.is_signal.astype(np.int64)
    pd.DataFrame(columns).to_hdf(path, key="table", mode="w")


def assert_same(a, b):
    for field in ("pmu", "nobj", "is_signal", "truth_pmu"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_pelican_round_trip(tmp_path):
    jets = random_jets()
    write_jets(str(tmp_path / "p.h5"), jets, {"seed": 1})
    assert_same(read_jets(str(tmp_path / "p.h5")), jets)
    assert_same(read_jets(str(tmp_path / "p.h5"), 2, 4), jets.select(slice(2, 4)))


def test_reference_layout(tmp_path):
    jets = random_jets()
    write_reference(tmp_path / "ref.h5", jets)
    assert_same(read_jets(str(tmp_path / "ref.h5")), jets)
    assert_same(read_jets(str(tmp_path / "ref.h5"), 1, 3), jets.select(slice(1, 3)))


def error_of(argv, capsys):
    status = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert status != 0 and len(err) == 1 and err[0].startswith("kerasjet: error:")
    return err[0]


def test_missing_and_unreadable_files(tmp_path, capsys):
    assert "nope.h5: no such file" in error_of(["info", str(tmp_path / "nope.h5")], capsys)
    (tmp_path / "text.h5").write_text("not hdf5")
    assert "text.h5: not a readable HDF5 file" in error_of(["info", str(tmp_path / "text.h5")], capsys)


def test_wrong_layout_and_missing_dataset(tmp_path, capsys):
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = np.zeros(3)
    assert "unknown layout" in error_of(["info", str(tmp_path / "other.h5")], capsys)
    write_jets(str(tmp_path / "p.h5"), random_jets())
    with h5py.File(tmp_path / "p.h5", "a") as f:
        del f["truth_Pmu"]
    assert "without dataset 'truth_Pmu'" in error_of(["info", str(tmp_path / "p.h5")], capsys)
    jets = random_jets()
    write_reference(tmp_path / "ref.h5", jets)
    with h5py.File(tmp_path / "ref.h5", "a") as f:
        del f["table/block1_items"]
        f["table/block1_items"] = np.array([b"ttv", b"label"])
    assert "without column 'is_signal_new'" in error_of(["info", str(tmp_path / "ref.h5")], capsys)


def test_nan_momenta_and_empty_jets(tmp_path, capsys):
    jets = random_jets()
    jets.pmu[3, 0, 1] = np.nan
    write_jets(str(tmp_path / "nan.h5"), jets)
    assert "'Pmu' has NaN/inf momenta (jet 3)" in error_of(["info", str(tmp_path / "nan.h5")], capsys)
    jets = random_jets()
    jets.nobj[2] = 0
    write_jets(str(tmp_path / "empty.h5"), jets)
    assert "zero constituents (jet 2)" in error_of(["info", str(tmp_path / "empty.h5")], capsys)
    ref = random_jets()
    ref.pmu[4, 0, 2] = np.inf
    write_reference(tmp_path / "ref.h5", ref)
    assert "ref.h5: dataset 'Pmu' has NaN/inf momenta (jet 4)" in error_of(["info", str(tmp_path / "ref.h5")], capsys)


def test_bad_generate_arguments_leave_no_file(tmp_path, capsys):
    out = tmp_path / "g.h5"
    assert "--jets: must be positive" in error_of(["generate", "--jets", "0", "--out", str(out)], capsys)
    assert "--signal-fraction" in error_of(["generate", "--jets", "5", "--signal-fraction", "1.5", "--out", str(out)], capsys)
    assert "--shard must lie" in error_of(["generate", "--jets", "5", "--shard", "3", "--num-shards", "2", "--out", str(out)], capsys)
    assert "--max-constituents: must be positive" in error_of(["generate", "--jets", "5", "--max-constituents", "0", "--out", str(out)], capsys)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_interrupted_write_leaves_nothing(tmp_path):
    from kerasjet.data.io import PelicanWriter
    from kerasjet.files import atomic_output

    out = tmp_path / "int.h5"
    with pytest.raises(KeyboardInterrupt):
        with atomic_output(str(out)) as tmp, PelicanWriter(tmp, 10, 5, {}) as writer:
            writer.append(random_jets(4))
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_info_summary_and_plot(jets_file, tmp_path, capsys):
    assert main(["info", jets_file, "--plot", str(tmp_path / "m.png")]) == 0
    out = capsys.readouterr().out
    assert "300 jets (detector level, configuration atlas-delphes-3.3+mpi+w-matching), signal fraction 0.500" in out
    assert "top" in out and "QCD" in out
    assert (tmp_path / "m.png").stat().st_size > 1000
