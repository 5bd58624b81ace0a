"""Drive the seed paper's own PyTorch code (abogatskiy/PELICAN-nano) on kerasjet's jet files.

Used by ``benchmarks/parity.py --reference DIR``; needs PyTorch, h5py and scikit-learn in the
Python given as ``python`` (an optional extra: kerasjet never imports PyTorch itself).

kerasjet writes the PELICAN "converted" layout that this code reads (``Pmu``, ``Nobj``,
``is_signal``, ``truth_Pmu``), so the files are linked unchanged into a folder as train.h5,
valid.h5 and test.h5. The run uses the code's own defaults except for the budget the parity
benchmark fixes (see ``reference_arguments``): nanoPELICAN with two hidden channels, the first
``nobj`` constituents (the files are pT-ordered), Adam(W) without weight decay, cosine annealing
with warm restarts (T0 = 4 epochs, T_mult = 2) from the peak rate to peak/100, dropout on the
hidden pairs and the output, beams added (the code's default).
The test predictions of the best epoch by validation loss are read back and scored with
kerasjet's own metrics.
"""

import os
import re
import subprocess

import numpy as np

from kerasjet.errors import KerasjetError
from kerasjet.metrics import evaluate_scores

# the predictions file holds (n, 2) outputs [−a, a]: the logit of "top" is 2a
READ_PREDICTIONS = """
import sys, numpy, torch
out = torch.load(sys.argv[1])
numpy.savez(sys.argv[2], scores=out['predict'][:, 1].double().numpy(), labels=out['targets'].double().numpy())
"""

# the code saves argparse.Namespace objects in its checkpoints, which PyTorch ≥ 2.6 refuses to
# torch.load by default (weights_only); these files are the ones this run has just written
CHECKPOINT_ENVIRONMENT = {**os.environ, "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}


def reference_arguments(data_dir, seed, epochs, batchnorm, batch_size, nobj, learning_rate, dropout):
    """Command-line flags of train_pelican_nano.py for one run."""
    return [
        f"--datadir={data_dir}", "--target=is_signal", "--n-hidden=2", f"--nobj={nobj}", "--nobj-avg=49",
        f"--num-epoch={epochs}", "--num-train=-1", "--num-valid=-1", "--num-test=-1", f"--batch-size={batch_size}",
        f"--lr-init={learning_rate}", f"--lr-final={learning_rate / 100}", "--lr-decay-type=warm", "--weight-decay=0",
        f"--drop-rate={dropout}", f"--drop-rate-out={dropout}", f"--batchnorm={'b' if batchnorm else 'None'}",
        f"--seed={seed}", "--device=cpu", "--prefix=run", "--no-summarize",
    ]


def _link_files(run_dir, files):
    data_dir = os.path.join(run_dir, "data")
    os.makedirs(data_dir, exist_ok=True)
    for split, name in (("train", "train.h5"), ("val", "valid.h5"), ("test", "test.h5")):
        link = os.path.join(data_dir, name)
        if not os.path.islink(link):
            os.symlink(os.path.abspath(files[split]), link)
    return data_dir


def reference_finished(run_dir):
    """Whether the reference run in ``run_dir`` has written its test predictions."""
    predictions = os.path.join(run_dir, "predict")
    return any(os.path.exists(path) for path in (os.path.join(run_dir, "test_scores.npz"), os.path.join(predictions, "run.best.test.pt"),
                                                 os.path.join(predictions, "run.final.test.pt")))


def train_reference(reference_dir, python, run_dir, files, seed, epochs, batchnorm, batch_size, nobj, learning_rate, dropout):
    """Train one reference seed in ``run_dir`` (skipped when its predictions exist) and return
    its test metrics, in the same keys as the kerasjet side."""
    run_dir = os.path.abspath(run_dir)
    predictions = os.path.join(run_dir, "predict")
    scores_file = os.path.join(run_dir, "test_scores.npz")
    if not os.path.exists(scores_file):
        data_dir = _link_files(run_dir, files)
        for folder in ("log", "model", "predict"):
            os.makedirs(os.path.join(run_dir, folder), exist_ok=True)
        args = reference_arguments(data_dir, seed, epochs, batchnorm, batch_size, nobj, learning_rate, dropout)
        with open(os.path.join(run_dir, "reference.log"), "w") as log:
            done = subprocess.run([python, os.path.join(os.path.abspath(reference_dir), "train_pelican_nano.py"),
                                   f"--workdir={run_dir}/", *args], stdout=log, stderr=subprocess.STDOUT, cwd=reference_dir,
                                  env=CHECKPOINT_ENVIRONMENT)
        if done.returncode:
            raise KerasjetError(f"{run_dir}/reference.log: PELICAN-nano exited with status {done.returncode}")
        best = os.path.join(predictions, "run.best.test.pt")
        source = best if os.path.exists(best) else os.path.join(predictions, "run.final.test.pt")  # best epoch = last epoch
        subprocess.run([python, "-c", READ_PREDICTIONS, source, scores_file], check=True, env=CHECKPOINT_ENVIRONMENT)
    saved = np.load(scores_file)
    metrics = evaluate_scores(saved["labels"], saved["scores"])
    with open(os.path.join(run_dir, "reference.log")) as log:
        counted = re.search(r"Number of parameters: (\d+)", log.read())
    return {"auc": metrics["auc"], "rejection_at_0.3": metrics["rejection_at_0.3"], "accuracy": metrics["accuracy"],
            "seed": seed, "parameters": int(counted.group(1)) if counted else None}
