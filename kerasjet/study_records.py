"""Job records: what the study keeps of each finished job, small enough to commit.

A record (``<results>/jobs/<job>.json``) holds the run's summary (validation loss, best epoch,
start), its model's metrics on the study's test file and its ROC on a fixed εS grid, with the
fingerprint of the train, validation and test jets it saw and the seconds it trained (read from
its TensorBoard logs; benchmarks/study_time.py adds them up). ``kerasjet study --collect`` builds the
tables from the records alone, so a study split over sessions that keep no data or run folders
(the generated files are regenerated identically from their seeds) still adds up: a job whose
record exists is not trained again, and records of other jets are refused.
"""

import glob
import hashlib
import json
import math
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
MASS_CUT_ONE_SIDED_RECORD = "jet_mass_cut_one_sided"
# an epoch over this many times its run's median epoch counts as the median (a job paused with
# SIGSTOP while the tests ran)
PAUSE_FACTOR = 3


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


def epoch_seconds(run_folder):
    """Seconds of each epoch the run in ``run_folder`` trained (its starts and resumed pieces
    included), from the TensorBoard event files kerasjet.train writes to <run>/**/tensorboard/train/:
    each epoch's summary time less the previous one's, a file's first epoch from the file's
    creation (time between the pieces of a resumed run is not counted)."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    seconds = []
    for path in glob.glob(os.path.join(run_folder, "**", "tensorboard", "train", "events.out.tfevents.*"), recursive=True):
        events = list(EventFileLoader(path).Load())
        ends = [event.wall_time for event in events if any(value.tag == "epoch_loss" for value in event.summary.value)]
        if ends:
            seconds.extend(np.diff([events[0].wall_time, *ends]))
    return seconds


def training_seconds(run_folder):
    """Seconds the run in ``run_folder`` spent training, an epoch over PAUSE_FACTOR × the median
    counted as the median; 0 when it has no TensorBoard log."""
    seconds = np.array(epoch_seconds(run_folder))
    if not seconds.size:
        return 0.0
    median = np.median(seconds)
    return float(np.where(seconds > PAUSE_FACTOR * median, median, seconds).sum())


def record_path(results_dir, slug):
    return os.path.join(results_dir, "jobs", f"{slug}.json")


def roc_points(labels, scores):
    """{'signal_efficiency': grid, 'background_rejection': 1/εB at each} (ROC_SIGNAL_EFFICIENCIES)."""
    from kerasjet.metrics import background_rejection

    return {"signal_efficiency": list(ROC_SIGNAL_EFFICIENCIES),
            "background_rejection": [background_rejection(labels, scores, e) for e in ROC_SIGNAL_EFFICIENCIES]}


def write_record(path, name, summary, metrics, labels, scores, fingerprints):
    """Write one job's record (``summary`` None for the mass cut, which is not trained; else the
    finished run's summary.json, whose run_dir gives the training seconds)."""
    record = {"job": name, "data": fingerprints, "test": metrics, "roc": roc_points(labels, scores)}
    if summary is not None:
        record["summary"] = {key: summary[key] for key in SUMMARY_KEYS if key in summary}
        record["training_seconds"] = round(training_seconds(summary["run_dir"]), 1)
    write_json(record, path)
    return record


SPLITS = ("train", "val", "test")
MASS_CUT_JOB = "Jet mass cut"  # the window score −|m − 173 GeV| (kerasjet 0.1's studies hold only this one)
MASS_CUT_ONE_SIDED_JOB = "Jet mass cut, one-sided"  # the jet mass itself: the seed paper's "simple jet mass cut"
MASS_CUT_JOBS = (MASS_CUT_JOB, MASS_CUT_ONE_SIDED_JOB)


def _fail(path, key, what):
    raise KerasjetError(f"{path}: {key}: {what}; not a job record written by kerasjet study (remove it to redo the job)")


def _is_number(value):
    """A number as write_json stores it (±inf as the strings 'inf'/'-inf'); not a bool."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) or value in ("inf", "-inf")


def check_fingerprints(data, path, key="data"):
    """Refuse (KerasjetError naming ``path`` and the key) anything but {split: {'file', 'jets',
    'sha256'}} for exactly the three splits, as data_fingerprints writes it."""
    if not isinstance(data, dict) or set(data) != set(SPLITS):
        _fail(path, key, f"is {data!r:.80}, expected the fingerprints of {', '.join(SPLITS)}")
    for split in SPLITS:
        entry = data[split]
        if not (isinstance(entry, dict) and isinstance(entry.get("file"), str) and isinstance(entry.get("jets"), int)
                and isinstance(entry.get("sha256"), str) and len(entry["sha256"]) == 64
                and all(c in "0123456789abcdef" for c in entry["sha256"])):
            _fail(path, f"{key}.{split}", f"is {entry!r:.120}, expected {{'file', 'jets', 'sha256' (64 hex digits)}}")


def _finite(value):
    return _is_number(value) and value not in ("inf", "-inf") and math.isfinite(value)


def _rejection(value):
    """1/εB as write_json stores it: a finite number ≥ 1, or 'inf' (no background passes)."""
    return value == "inf" or (_finite(value) and value >= 1)


# what a test-metrics dict (kerasjet.evaluate) holds: (test, what it must be)
METRIC_RULES = {
    "auc": (lambda v: _finite(v) and 0 <= v <= 1, "a fraction in [0, 1]"),
    "rejection_at_0.3": (_rejection, "1/εB: a finite number ≥ 1 or \"inf\""),
    "jets": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1, "an integer ≥ 1"),
    "accuracy": (lambda v: _finite(v) and 0 <= v <= 1, "a fraction in [0, 1]"),
    "rejection_at_0.5": (_rejection, "1/εB: a finite number ≥ 1 or \"inf\""),
    "parameters": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "an integer ≥ 0"),
}


def check_metrics(metrics, path, key, fail=None):
    """Refuse test metrics that are not what kerasjet.evaluate writes: every key of METRIC_RULES
    present, AUC and accuracy fractions, 1/εB ≥ 1 or "inf", no NaN or infinity elsewhere."""
    fail = fail or _fail
    if not isinstance(metrics, dict):
        fail(path, key, "missing or not an object")
    for name, (valid, what) in METRIC_RULES.items():
        if metrics.get(name) is None:
            fail(path, f"{key}.{name}", "missing or not a number")
        if not valid(metrics[name]):
            fail(path, f"{key}.{name}", f"is {metrics[name]!r}, expected {what}")


def check_record(record, path, job=None, seed=None):
    """Refuse a record whose shape is not what write_record writes, or (given ``job``/``seed``) that
    is the record of another job: one KerasjetError naming ``path`` and the key."""
    if not isinstance(record, dict):
        _fail(path, "(top level)", "not a JSON object")
    for key in ("data", "test", "roc"):
        if not isinstance(record.get(key), dict):
            _fail(path, key, "missing or not an object")
    if not isinstance(record.get("job"), str):
        _fail(path, "job", "missing or not a string")
    check_fingerprints(record["data"], path)
    check_metrics(record["test"], path, "test")
    efficiencies, rejections = (record["roc"].get(key) for key in ("signal_efficiency", "background_rejection"))
    if not all(isinstance(points, list) and points and all(_is_number(v) for v in points) for points in (efficiencies, rejections)):
        _fail(path, "roc", "signal_efficiency and background_rejection must be lists of numbers")
    if not (isinstance(efficiencies, list) and efficiencies and all(_finite(v) and 0 < v <= 1 for v in efficiencies)):
        _fail(path, "roc.signal_efficiency", "must be a list of fractions in (0, 1]")
    if not (isinstance(rejections, list) and rejections and all(_rejection(v) for v in rejections)):
        _fail(path, "roc.background_rejection", "must be a list of 1/εB values: finite numbers ≥ 1 or \"inf\"")
    if len(efficiencies) != len(rejections):
        _fail(path, "roc", f"{len(efficiencies)} signal efficiencies but {len(rejections)} rejections")
    if job is not None and record["job"] != job:
        raise KerasjetError(f"{path}: job is '{record['job']}', but this file is the record of '{job}' (remove it to redo the job)")
    if record["job"] in MASS_CUT_JOBS:
        return
    summary = record.get("summary")
    if not isinstance(summary, dict):
        _fail(path, "summary", "missing or not an object")
    for key, valid, what in (("best_val_loss", lambda v: _finite(v) and v >= 0, "a finite number ≥ 0"),
                             ("seed", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "an integer ≥ 0"),
                             ("epochs", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1, "an integer ≥ 1")):
        if summary.get(key) is None:
            _fail(path, f"summary.{key}", "missing")
        if not valid(summary[key]):
            _fail(path, f"summary.{key}", f"is {summary[key]!r}, expected {what}")
    seconds = record.get("training_seconds", 0.0)
    if not (_finite(seconds) and seconds >= 0):
        _fail(path, "training_seconds", "not a number ≥ 0")
    if seed is not None and summary["seed"] != seed:
        raise KerasjetError(f"{path}: summary.seed is {summary['seed']}, but this file is the record of seed {seed} "
                            "(remove it to redo the job)")


def read_record(path, fingerprints, job=None, seed=None):
    """The record at ``path`` (None if there is none), checked by check_record (and, given, as the
    record of ``job`` and ``seed``); KerasjetError when it is unreadable, malformed, another job's or
    made on other jets than ``fingerprints`` (None: not compared)."""
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            record = json.load(f)
    except (OSError, ValueError) as error:
        raise KerasjetError(f"{path}: not a readable job record ({error}); remove it to redo the job") from None
    check_record(record, path, job, seed)
    for split, expected in (fingerprints or {}).items():
        if record["data"][split] != expected:
            raise KerasjetError(f"{path}: data.{split} is {record['data'][split]}, but the study's {split} file is {expected}; "
                                "the record belongs to other jets (remove it to redo the job)")
    record["test"] = {k: _number(v) for k, v in record["test"].items()}
    record["roc"]["background_rejection"] = [_number(v) for v in record["roc"]["background_rejection"]]
    return record


def check_record_files(folder):
    """Every record in ``folder`` (``<results>/jobs``) read and checked (read_record, no
    fingerprints compared): a malformed record or an impossible number is refused, naming its
    file and key, before the study's data or any other record is compared or a table written."""
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        read_record(path, None)


def _number(value):
    """A JSON value back from write_json: the strings 'inf'/'-inf' as floats."""
    return float(value) if value in ("inf", "-inf") else value


STUDY_KEY_RULES = {"runs": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1, "an integer ≥ 1")}
CAPTION_KEYS = ("test_jets", "level", "train_jets", "epochs", "keep_best", "seeds")


def _study_fail(path, key, what):
    raise KerasjetError(f"{path}: {key}: {what}; not a study.json written by kerasjet study (collect the study again)")


def read_json(path, fail):
    """The JSON at ``path``; ``fail(path, key, what)`` when it is missing, unreadable, not JSON or
    holds NaN/Infinity (which no kerasjet file writes)."""
    def constant(name):
        fail(path, "the file", f"holds {name}, which kerasjet never writes")

    if not os.path.isfile(path):
        fail(path, "the file", "no such file" if not os.path.exists(path) else "is not a file")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f, parse_constant=constant)
    except (OSError, ValueError) as error:
        fail(path, "the file", f"not readable JSON ({' '.join(str(error).split())})")


def check_study(study, path):
    """Refuse a study.json whose shape or numbers are not what kerasjet study's collect writes:
    {'provenance': {...the caption's keys}, 'rows': {name: {'metrics', 'seeds'[, 'per_seed']}}},
    each metric a value as check_metrics allows or a [mean, std] pair of them (std finite ≥ 0)."""
    if not isinstance(study, dict):
        _study_fail(path, "(top level)", "not a JSON object")
    provenance, rows = study.get("provenance"), study.get("rows")
    if not isinstance(provenance, dict):
        _study_fail(path, "provenance", "missing or not an object")
    for key in CAPTION_KEYS:
        if key not in provenance:
            _study_fail(path, f"provenance.{key}", "missing")
    for key in ("test_jets", "train_jets", "epochs", "keep_best", "seeds"):
        if not (isinstance(provenance[key], int) and not isinstance(provenance[key], bool) and provenance[key] >= 1):
            _study_fail(path, f"provenance.{key}", f"is {provenance[key]!r}, expected an integer ≥ 1")
    if not isinstance(rows, dict) or not rows:
        _study_fail(path, "rows", "missing, empty or not an object")
    for name, row in rows.items():
        where = f"rows.{name}"
        if not isinstance(row, dict):
            _study_fail(path, where, "not an object")
        metrics = row.get("metrics")
        if not isinstance(metrics, dict):
            _study_fail(path, f"{where}.metrics", "missing or not an object")
        for key, (valid, what) in {**METRIC_RULES, **STUDY_KEY_RULES}.items():
            if key == "runs" and "runs" not in metrics:
                continue
            if key not in metrics:
                _study_fail(path, f"{where}.metrics.{key}", "missing")
            value = metrics[key]
            if isinstance(value, list) and key not in ("parameters", "runs"):
                if not (len(value) == 2 and (valid(value[0]) or key == "jets" and _finite(value[0]) and value[0] >= 1)
                        and _finite(value[1]) and value[1] >= 0):
                    _study_fail(path, f"{where}.metrics.{key}", f"is {value!r:.80}, expected [mean, std]: mean {what}, std finite ≥ 0")
            elif not valid(value):
                _study_fail(path, f"{where}.metrics.{key}", f"is {value!r:.80}, expected {what}")
        seeds = row.get("seeds")
        if not (isinstance(seeds, list) and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in seeds)):
            _study_fail(path, f"{where}.seeds", "must be a list of seeds (integers ≥ 0)")
        for i, metrics in enumerate(row.get("per_seed", [])):
            check_metrics(metrics, path, f"{where}.per_seed[{i}]", fail=_study_fail)


def read_study(path):
    """study.json at ``path``, checked (check_study): KerasjetError naming the file and key."""
    study = read_json(path, _study_fail)
    check_study(study, path)
    return study
