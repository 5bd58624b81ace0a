"""Job records: what the study keeps of each finished job, small enough to commit.

A record (``<results>/jobs/<job>.json``) holds the run's summary (validation loss, best epoch,
start), its model's metrics on the study's test file and its ROC on a fixed εS grid, with the
fingerprint of the train, validation and test jets it saw. ``kerasjet study --collect`` builds the
tables from the records alone, so a study split over sessions that keep no data or run folders
(the generated files are regenerated identically from their seeds) still adds up: a job whose
record exists is not trained again, and records of other jets are refused.
"""

import hashlib
import json
import os

import numpy as np

from kerasjet.errors import KerasjetError
from kerasjet.files import write_json

# εS grid of the stored ROC (1/εB at each point): enough for the ROC plot and for 1/εB at any
# listed efficiency
ROC_SIGNAL_EFFICIENCIES = tuple(round(0.02 * k, 2) for k in range(1, 50))
# the summary fields a record keeps (kerasjet.train's summary.json has more, e.g. the run folder)
SUMMARY_KEYS = ("model", "seed", "epochs", "parameters", "best_val_loss", "start", "start_seed", "probe_val_losses")
MASS_CUT_RECORD = "jet_mass_cut"


def fingerprint(path):
    """{'file', 'jets', 'sha256'} of a jet file: the SHA-256 of its jets (momenta, multiplicities,
    labels), independent of the HDF5 container, so a regenerated file matches its earlier self."""
    from kerasjet.data.io import read_jets

    jets = read_jets(path)
    digest = hashlib.sha256()
    for array in (jets.pmu, jets.nobj, jets.is_signal):
        digest.update(np.ascontiguousarray(array).tobytes())
    return {"file": os.path.basename(path), "jets": int(len(jets.nobj)), "sha256": digest.hexdigest()}


def data_fingerprints(files):
    """{split: fingerprint} of the study's train/val/test files."""
    return {split: fingerprint(path) for split, path in files.items()}


def record_path(results_dir, slug):
    return os.path.join(results_dir, "jobs", f"{slug}.json")


def roc_points(labels, scores):
    """{'signal_efficiency': grid, 'background_rejection': 1/εB at each} (ROC_SIGNAL_EFFICIENCIES)."""
    from kerasjet.metrics import background_rejection

    return {"signal_efficiency": list(ROC_SIGNAL_EFFICIENCIES),
            "background_rejection": [background_rejection(labels, scores, e) for e in ROC_SIGNAL_EFFICIENCIES]}


def write_record(path, name, summary, metrics, labels, scores, fingerprints):
    """Write one job's record (``summary`` None for the mass cut, which is not trained)."""
    record = {"job": name, "data": fingerprints, "test": metrics, "roc": roc_points(labels, scores)}
    if summary is not None:
        record["summary"] = {key: summary[key] for key in SUMMARY_KEYS if key in summary}
    write_json(record, path)
    return record


def read_record(path, fingerprints):
    """The record at ``path`` (None if there is none); KerasjetError when it is unreadable or was
    made on other jets than ``fingerprints``."""
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            record = json.load(f)
        data, test, _ = record["data"], record["test"], record["roc"]["background_rejection"]
    except (OSError, ValueError) as error:
        raise KerasjetError(f"{path}: not a readable job record ({error}); remove it to redo the job") from None
    except (KeyError, TypeError) as missing:
        raise KerasjetError(f"{path}: key {missing} missing; not a job record written by kerasjet study") from None
    for split, expected in fingerprints.items():
        if data.get(split) != expected:
            raise KerasjetError(f"{path}: data.{split} is {data.get(split)}, but the study's {split} file is {expected}; "
                                "the record belongs to other jets (remove it to redo the job)")
    record["test"] = {k: _number(v) for k, v in test.items()}
    record["roc"]["background_rejection"] = [_number(v) for v in record["roc"]["background_rejection"]]
    return record


def _number(value):
    """A JSON value back from write_json: the strings 'inf'/'-inf' as floats."""
    return float(value) if value in ("inf", "-inf") else value
