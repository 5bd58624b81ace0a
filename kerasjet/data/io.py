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

Every read is validated (:func:`validate_jets`, :func:`check_jet_file` for a whole file before any
work): a missing file or dataset, an unknown layout, wrong shapes or dtypes, labels other than 0/1,
``Nobj`` disagreeing with the zero padding, NaN/inf momenta, E < 0 or E < |p⃗| beyond
``ENERGY_TOLERANCE``, a jet without constituents, inconsistent reference-layout blocks and HDF5
read errors raise :class:`KerasjetError` naming the file and the dataset or column.
Writers fill a temporary file that is renamed into place only when complete.
"""

import contextlib
import os
from dataclasses import dataclass

import h5py
import numpy as np

from kerasjet.errors import KerasjetError, first_line
from kerasjet.files import atomic_output

PELICAN_DATASETS = ("Pmu", "Nobj", "is_signal", "truth_Pmu")
REFERENCE_GROUP = "table"
REFERENCE_CONSTITUENTS = 200
# a constituent must have E ≥ |p⃗|·(1 − ENERGY_TOLERANCE): float32 rounding of massless
# constituents stays far below this (relative 1e-7), an unphysical momentum does not
ENERGY_TOLERANCE = 1e-3
CHECK_CHUNK = 5_000  # jets per read when a whole file is checked (≈ 32 MB of float64 momenta)
# h5py's exceptions for a damaged file or object (its own errors derive from these)
HDF5_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError)


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


@contextlib.contextmanager
def _reading(path):
    """An open h5py file whose read errors anywhere in the block become one KerasjetError."""
    f = _open(path)
    try:
        with f:
            yield f
    except HDF5_ERRORS as err:
        raise KerasjetError(f"{path}: HDF5 read error ({first_line(err)})") from None


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


def _check_structure(f):
    """Number of jets after checking the datasets' shapes and dtypes (PELICAN) or the blocks'
    consistency with their column lists (reference); reads no jets."""
    if detect_layout(f) == "reference":
        return _check_reference_blocks(f[REFERENCE_GROUP], f.filename)
    if not isinstance(f["Pmu"], h5py.Dataset) or f["Pmu"].ndim != 3:
        raise KerasjetError(f"{f.filename}: dataset 'Pmu' must have shape (n, slots, 4)")
    n, slots = f["Pmu"].shape[:2]
    # dataset: (shape, as stated in errors, accepted numpy dtype kinds, their name)
    expected = {"Pmu": ((n, slots, 4), "(n, slots, 4)", "fiu", "numbers"), "Nobj": ((n,), "(n,)", "iu", "integers"),
                "is_signal": ((n,), "(n,)", "iub", "integers"), "truth_Pmu": ((n, 4), "(n, 4)", "fiu", "numbers")}
    for name, (shape, shape_text, kinds, kind_text) in expected.items():
        dataset = f[name]
        if not isinstance(dataset, h5py.Dataset) or dataset.shape != shape:
            found = getattr(dataset, "shape", "a group")
            raise KerasjetError(f"{f.filename}: dataset '{name}' has shape {found}, expected {shape_text} with n = {n}")
        if dataset.dtype.kind not in kinds:
            raise KerasjetError(f"{f.filename}: dataset '{name}' has dtype {dataset.dtype}, expected {kind_text}")
    return n


def _check_reference_blocks(group, filename):
    """Number of rows after checking every pandas block against its column list and axis1."""
    n = len(group["axis1"])
    k = 0
    while f"block{k}_items" in group:
        items, values = group[f"block{k}_items"], group[f"block{k}_values"]
        if values.ndim != 2 or values.shape != (n, len(items)):
            raise KerasjetError(f"{filename}: block 'block{k}_values' has shape {values.shape}, expected ({n}, {len(items)}) "
                                f"from 'axis1' and 'block{k}_items'")
        k += 1
    return n


def count_jets(path):
    """Number of jets in a file of either layout, after checking its structure (no jets read)."""
    with _reading(path) as f:
        return _check_structure(f)


def read_jets(path, start=0, stop=None, allow_empty=False):
    """Read jets [start, stop) of a file in either layout, validated, as :class:`JetArrays`:
    ``pmu`` (n, M, 4) GeV (E, px, py, pz; zero beyond ``nobj``), ``nobj`` (n,), ``is_signal`` (n,) int8
    (1 top, 0 QCD), ``truth_pmu`` (n, 4) GeV. KerasjetError for a file without jets, as every
    command refuses it, unless ``allow_empty`` (an empty shard of a sharded job is a valid file)."""
    with _reading(path) as f:
        if _check_structure(f) == 0 and not allow_empty:
            raise KerasjetError(f"{path}: the file holds no jets")
        reader = _read_pelican if detect_layout(f) == "pelican" else _read_reference
        jets = reader(f, slice(start, stop))
    validate_jets(jets, path, first_index=start)
    jets.is_signal = jets.is_signal.astype(np.int8)
    return jets


def check_jet_file(path, both_classes=False, allow_empty=False, chunk=CHECK_CHUNK):
    """Validate every jet of ``path``, ``chunk`` jets at a time (memory bounded), before any work.

    ``both_classes``: the file must hold top (1) and QCD (0) jets, as a ROC needs. Returns the
    number of jets; KerasjetError naming the file and the dataset otherwise.
    """
    n = count_jets(path)
    if n == 0 and not allow_empty:
        raise KerasjetError(f"{path}: the file holds no jets")
    classes = set()
    for start in range(0, n, chunk):
        classes.update(np.unique(read_jets(path, start, min(start + chunk, n)).is_signal).tolist())
    if both_classes and n and classes != {0, 1}:
        raise KerasjetError(f"{path}: dataset 'is_signal' holds only label {classes.pop()}; a ROC needs top (1) and QCD (0) jets")
    return n


def signal_fraction(path, chunk=CHECK_CHUNK):
    """Fraction of top jets (is_signal = 1) in ``path``, read ``chunk`` jets at a time."""
    n = count_jets(path)
    tops = sum(int(read_jets(path, start, min(start + chunk, n)).is_signal.sum()) for start in range(0, n, chunk))
    return tops / max(n, 1)


def _read_pelican(f, rows):
    return JetArrays(
        pmu=f["Pmu"][rows].astype(np.float32, copy=False),
        nobj=f["Nobj"][rows].astype(np.int32),
        is_signal=f["is_signal"][rows],
        truth_pmu=f["truth_Pmu"][rows].astype(np.float32, copy=False),
    )


def _reference_columns(group, filename):
    """Map column name → (block dataset name, column position) for a pandas fixed-format frame."""
    columns = {}
    k = 0
    while f"block{k}_items" in group:
        for position, name in enumerate(group[f"block{k}_items"][()]):
            name = name.decode() if isinstance(name, bytes) else str(name)
            if name in columns:
                raise KerasjetError(f"{filename}: column '{name}' appears twice in group '{REFERENCE_GROUP}'")
            columns[name] = (f"block{k}_values", position)
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
    is_signal = column_block(["is_signal_new"])[:, 0]
    return JetArrays(pmu=pmu, nobj=nobj, is_signal=is_signal, truth_pmu=truth)


def validate_jets(jets, path, first_index=0):
    """Raise KerasjetError naming ``path``, the dataset and the first bad jet for anything a
    tagger must not see: labels other than 0/1, non-finite momenta, empty jets, ``Nobj``
    disagreeing with the zero padding, E < 0 or E < |p⃗|·(1 − ENERGY_TOLERANCE) (E, p⃗ in GeV).
    Checked CHECK_CHUNK jets at a time, so the float64 work arrays stay small."""
    for start in range(0, len(jets), CHECK_CHUNK):
        _validate_chunk(jets.select(slice(start, start + CHECK_CHUNK)), path, first_index + start)


def _validate_chunk(jets, path, first_index):
    slots = np.arange(jets.pmu.shape[1])[None, :]
    real = slots < jets.nobj[:, None]
    occupied = (jets.pmu != 0).any(axis=-1)
    pmu = jets.pmu.astype(np.float64)
    energy, momentum = pmu[..., 0], np.linalg.norm(pmu[..., 1:], axis=-1)
    checks = (
        ("is_signal", (jets.is_signal != 0) & (jets.is_signal != 1), "has a label other than 0 or 1"),
        ("Pmu", ~np.isfinite(jets.pmu).all(axis=(1, 2)), "has NaN/inf momenta"),
        ("truth_Pmu", ~np.isfinite(jets.truth_pmu).all(axis=1), "has NaN/inf"),
        ("Nobj", jets.nobj <= 0, "has a jet with zero constituents"),
        ("Nobj", jets.nobj > jets.pmu.shape[1], f"exceeds the {jets.pmu.shape[1]} slots of 'Pmu'"),
        ("Nobj", (real & ~occupied).any(axis=1), "counts an all-zero padding slot as a constituent"),
        ("Nobj", (~real & occupied).any(axis=1), "leaves out a non-zero constituent slot"),
        ("Pmu", (real & (energy < 0)).any(axis=1), "has a constituent with E < 0"),
        ("Pmu", (real & (energy < momentum * (1 - ENERGY_TOLERANCE))).any(axis=1),
         f"has a constituent with E < |p| (beyond the relative tolerance {ENERGY_TOLERANCE:g})"),
    )
    for dataset, bad, what in checks:
        if bad.any():
            raise KerasjetError(f"{path}: dataset '{dataset}' {what} (jet {first_index + int(np.argmax(bad))})")


def read_attributes(path):
    """File attributes (generator settings, seed) as a plain dict."""
    with _reading(path) as f:
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
        # an empty file (a shard without blocks) cannot be chunked, so it is stored uncompressed
        opts = dict(compression="gzip", compression_opts=1, shuffle=True) if n_jets else {}
        chunks = (min(n_jets, 256), max_constituents, 4) if n_jets else None
        self.file.create_dataset("Pmu", (n_jets, max_constituents, 4), np.float32, chunks=chunks, **opts)
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
    """Write a JetArrays (``pmu`` (n, M, 4) GeV, ``nobj`` (n,), ``is_signal`` (n,), ``truth_pmu``
    (n, 4) GeV) to ``path`` in the PELICAN layout, atomically; ``attrs``: file attributes."""
    with atomic_output(path) as tmp, PelicanWriter(tmp, len(jets), jets.pmu.shape[1], attrs or {}) as writer:
        writer.append(jets)
