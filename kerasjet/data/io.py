"""HDF5 jet files: the PELICAN layout (kerasjet's own format) and the reference layout.

PELICAN layout (written by kerasjet, see DESIGN.md):

    Pmu        (n, M, 4) float32  constituents (E, px, py, pz) in GeV, pT-ordered, zero padded
    Nobj       (n,)      int16    number of real constituents
    is_signal  (n,)      int8     1 = top jet
    truth_Pmu  (n, 4)    float32  truth top four-momentum in GeV (zeros for QCD)

Reference layout (Top Quark Tagging Reference Dataset, pandas ``to_hdf(key="table")`` fixed
format): a group ``table`` holding ``axis0`` (column names) and blocks ``blockK_items`` /
``blockK_values``; columns ``E_i, PX_i, PY_i, PZ_i`` for i < 200, ``truthE, truthPX, truthPY,
truthPZ``, ``ttv`` and ``is_signal_new``. It is read with h5py alone.

Every read is validated: a missing file or dataset, an unknown layout, NaN/inf momenta and a jet
without constituents raise :class:`KerasjetError` naming the file and the dataset or column.
Writers fill a temporary file that is renamed into place only when complete.
"""

import os
from dataclasses import dataclass

import h5py
import numpy as np

from kerasjet.errors import KerasjetError
from kerasjet.files import atomic_output

PELICAN_DATASETS = ("Pmu", "Nobj", "is_signal", "truth_Pmu")
REFERENCE_GROUP = "table"
REFERENCE_CONSTITUENTS = 200


@dataclass
class JetArrays:
    """A set of jets in memory; ``pmu`` is (n, M, 4) GeV, the rest as in the PELICAN layout."""

    pmu: np.ndarray
    nobj: np.ndarray
    is_signal: np.ndarray
    truth_pmu: np.ndarray

    def __len__(self):
        return len(self.nobj)

    def select(self, index):
        """The jets at ``index`` (slice, boolean mask or integer array)."""
        return JetArrays(self.pmu[index], self.nobj[index], self.is_signal[index], self.truth_pmu[index])

    @staticmethod
    def concatenate(parts):
        """Join several JetArrays with the same number of constituent slots."""
        return JetArrays(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("pmu", "nobj", "is_signal", "truth_pmu")))


def _open(path):
    if not os.path.exists(path):
        raise KerasjetError(f"{path}: no such file")
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise KerasjetError(f"{path}: not a readable HDF5 file ({err})") from None


def detect_layout(h5file):
    """'pelican' or 'reference' for an open h5py file; KerasjetError otherwise."""
    if "Pmu" in h5file:
        missing = [k for k in PELICAN_DATASETS if k not in h5file]
        if missing:
            raise KerasjetError(f"{h5file.filename}: PELICAN layout without dataset '{missing[0]}'")
        return "pelican"
    if REFERENCE_GROUP in h5file and "axis0" in h5file[REFERENCE_GROUP]:
        return "reference"
    raise KerasjetError(
        f"{h5file.filename}: unknown layout (expected dataset 'Pmu' of the PELICAN layout "
        f"or group '{REFERENCE_GROUP}' of the reference layout)"
    )


def count_jets(path):
    """Number of jets in a file of either layout, without reading them."""
    with _open(path) as f:
        if detect_layout(f) == "pelican":
            return len(f["Nobj"])
        return len(f[REFERENCE_GROUP]["axis1"])


def read_jets(path, start=0, stop=None):
    """Read jets [start, stop) of a file in either layout, validated, as :class:`JetArrays`."""
    with _open(path) as f:
        reader = _read_pelican if detect_layout(f) == "pelican" else _read_reference
        jets = reader(f, slice(start, stop))
    validate_jets(jets, path, first_index=start)
    return jets


def _read_pelican(f, rows):
    return JetArrays(
        pmu=f["Pmu"][rows].astype(np.float32, copy=False),
        nobj=f["Nobj"][rows].astype(np.int32),
        is_signal=f["is_signal"][rows].astype(np.int8),
        truth_pmu=f["truth_Pmu"][rows].astype(np.float32, copy=False),
    )


def _reference_columns(group, filename):
    """Map column name → (block dataset name, column position) for a pandas fixed-format frame."""
    columns = {}
    k = 0
    while f"block{k}_items" in group:
        for position, name in enumerate(group[f"block{k}_items"][()]):
            columns[name.decode() if isinstance(name, bytes) else str(name)] = (f"block{k}_values", position)
        k += 1
    if not columns:
        raise KerasjetError(f"{filename}: group '{REFERENCE_GROUP}' holds no pandas blocks")
    return columns


def _read_reference(f, rows):
    group = f[REFERENCE_GROUP]
    columns = _reference_columns(group, f.filename)

    def column_block(names):
        missing = [n for n in names if n not in columns]
        if missing:
            raise KerasjetError(f"{f.filename}: reference layout without column '{missing[0]}'")
        blocks = {}
        out = []
        for name in names:
            block, position = columns[name]
            if block not in blocks:
                blocks[block] = group[block][rows]
            out.append(blocks[block][:, position])
        return np.stack(out, axis=-1)

    n_slots = sum(1 for i in range(REFERENCE_CONSTITUENTS) if f"E_{i}" in columns)
    if n_slots == 0:
        raise KerasjetError(f"{f.filename}: reference layout without column 'E_0'")
    names = [f"{c}_{i}" for i in range(n_slots) for c in ("E", "PX", "PY", "PZ")]
    pmu = column_block(names).reshape(-1, n_slots, 4).astype(np.float32)
    # the reference files are zero padded after the last constituent
    nobj = (pmu[..., 0] > 0).sum(axis=1).astype(np.int32)
    truth = column_block(["truthE", "truthPX", "truthPY", "truthPZ"]).astype(np.float32)
    is_signal = column_block(["is_signal_new"])[:, 0].astype(np.int8)
    return JetArrays(pmu=pmu, nobj=nobj, is_signal=is_signal, truth_pmu=truth)


def validate_jets(jets, path, first_index=0):
    """Raise KerasjetError naming ``path`` and the dataset for non-finite momenta or empty jets."""
    bad = ~np.isfinite(jets.pmu).all(axis=(1, 2))
    if bad.any():
        raise KerasjetError(f"{path}: dataset 'Pmu' has NaN/inf momenta in jet {first_index + int(np.argmax(bad))}")
    bad = ~np.isfinite(jets.truth_pmu).all(axis=1)
    if bad.any():
        raise KerasjetError(f"{path}: dataset 'truth_Pmu' has NaN/inf in jet {first_index + int(np.argmax(bad))}")
    empty = jets.nobj <= 0
    if empty.any():
        raise KerasjetError(f"{path}: dataset 'Nobj' has a jet with zero constituents (jet {first_index + int(np.argmax(empty))})")
    if (jets.nobj > jets.pmu.shape[1]).any():
        raise KerasjetError(f"{path}: dataset 'Nobj' exceeds the {jets.pmu.shape[1]} slots of 'Pmu'")


def read_attributes(path):
    """File attributes (generator settings, seed) as a plain dict."""
    with _open(path) as f:
        return {k: (v.decode() if isinstance(v, bytes) else v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()}


class PelicanWriter:
    """Append jets to a PELICAN-layout file of known final size, block by block.

    Use inside :func:`atomic_output`: ``with PelicanWriter(tmp, n, M, attrs) as w: w.append(jets)``.
    Closing checks that exactly ``n_jets`` jets were written.
    """

    def __init__(self, path, n_jets, max_constituents, attrs):
        self.path = path
        self.n_jets = n_jets
        self.position = 0
        self.file = h5py.File(path, "w")
        chunk = max(1, min(n_jets, 256))
        opts = dict(compression="gzip", compression_opts=1, shuffle=True)
        self.file.create_dataset("Pmu", (n_jets, max_constituents, 4), np.float32, chunks=(chunk, max_constituents, 4), **opts)
        self.file.create_dataset("Nobj", (n_jets,), np.int16, **opts)
        self.file.create_dataset("is_signal", (n_jets,), np.int8, **opts)
        self.file.create_dataset("truth_Pmu", (n_jets, 4), np.float32, **opts)
        for key, value in attrs.items():
            self.file.attrs[key] = value

    def append(self, jets):
        rows = slice(self.position, self.position + len(jets))
        self.file["Pmu"][rows] = jets.pmu
        self.file["Nobj"][rows] = jets.nobj
        self.file["is_signal"][rows] = jets.is_signal
        self.file["truth_Pmu"][rows] = jets.truth_pmu
        self.position += len(jets)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.file.close()
        if exc_type is None and self.position != self.n_jets:
            raise RuntimeError(f"{self.path}: wrote {self.position} jets, expected {self.n_jets}")


def write_jets(path, jets, attrs=None):
    """Write a JetArrays to ``path`` in the PELICAN layout, atomically."""
    with atomic_output(path) as tmp, PelicanWriter(tmp, len(jets), jets.pmu.shape[1], attrs or {}) as writer:
        writer.append(jets)
