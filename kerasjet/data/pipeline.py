"""Model inputs from jet files: leading-N constituents, units, mask, and a streaming tf.data pipeline.

Inputs to every model are

    pmu   (B, N, 4) float32  the N leading constituents by pT, (E, px, py, pz) in units of
                             ``momentum_scale`` GeV (default 1: GeV), zero padded
    mask  (B, N)    float32  1 for a real constituent, 0 for padding

with the label ``is_signal`` (B,) float32. N = 80 by default; firmware models use 16 or 32.
With an ``input_format`` (kerasjet.data.words) the constituents arrive as a trigger's words
instead of ``pmu``:

    words (B, N, 3) float32  the (pT, η, φ) integer codes of the N leading constituents
"""

from dataclasses import dataclass

import numpy as np

from kerasjet import kinematics
from kerasjet.data.io import check_jet_file, read_jets
from kerasjet.errors import KerasjetError

DEFAULT_CONSTITUENTS = 80


@dataclass(frozen=True)
class InputSpec:
    """How jets become model inputs: N constituent slots, the momentum unit in GeV, and the
    trigger word format (a name of kerasjet.data.words.INPUT_FORMATS) or None for Cartesian
    momenta."""

    n_constituents: int = DEFAULT_CONSTITUENTS
    momentum_scale: float = 1.0
    input_format: str = None

    def __post_init__(self):
        if self.n_constituents <= 0:
            raise KerasjetError(f"n_constituents must be positive (got {self.n_constituents})")
        if not self.momentum_scale > 0:
            raise KerasjetError(f"momentum_scale must be positive (got {self.momentum_scale})")
        if self.input_format is not None:
            from kerasjet.data.words import input_format

            input_format(self.input_format)  # a KerasjetError naming the known formats

    @property
    def key(self):
        """The constituents' input name: 'pmu' (B, N, 4) or 'words' (B, N, 3)."""
        return "pmu" if self.input_format is None else "words"

    @property
    def features(self):
        """Numbers per constituent: 4 (E, px, py, pz) or 3 (the pT, η, φ codes)."""
        return 4 if self.input_format is None else 3


def leading_constituents(pmu, nobj, spec):
    """Keep the ``spec.n_constituents`` leading constituents by pT.

    pmu (B, M, 4) GeV, nobj (B,) → (pmu (B, N, 4) float32 in units of spec.momentum_scale GeV,
    mask (B, N) float32). Padding rows are zero whatever the input held there.
    """
    n = spec.n_constituents
    valid = np.arange(pmu.shape[1])[None, :] < nobj[:, None]
    pt = np.where(valid, kinematics.pt(pmu), -1.0)
    order = np.argsort(-pt, axis=1, kind="stable")[:, :n]
    out = np.take_along_axis(pmu, order[..., None], axis=1)
    mask = np.take_along_axis(valid, order, axis=1)
    if out.shape[1] < n:  # fewer stored slots than requested
        pad = n - out.shape[1]
        out = np.pad(out, ((0, 0), (0, pad), (0, 0)))
        mask = np.pad(mask, ((0, 0), (0, pad)))
    out = np.where(mask[..., None], out, 0.0) / spec.momentum_scale
    return out.astype(np.float32), mask.astype(np.float32)


def load_inputs(path, spec=InputSpec(), start=0, stop=None):
    """All inputs of jets [start, stop) in memory: ({'pmu': (B, N, 4) float32 in units of
    spec.momentum_scale GeV, or 'words': (B, N, 3) float32 codes of spec.input_format;
    'mask': (B, N) float32}, is_signal (B,) float32)."""
    jets = read_jets(path, start, stop)
    if spec.input_format is None:
        pmu, mask = leading_constituents(jets.pmu, jets.nobj, spec)
        return {"pmu": pmu, "mask": mask}, jets.is_signal.astype(np.float32)
    from kerasjet.data.words import candidate_words, input_format, word_mask

    pmu, mask = leading_constituents(jets.pmu, jets.nobj, InputSpec(spec.n_constituents))  # GeV
    words = candidate_words(pmu, mask, input_format(spec.input_format))
    return {"words": words.astype(np.float32), "mask": word_mask(words, mask)}, jets.is_signal.astype(np.float32)


# jets whose model inputs fit in this many bytes are held in memory and shuffled as one set
IN_MEMORY_BYTES = 2 << 30


def _passes(path, spec, batch_size, shuffle, seed, start, stop, chunk_size, first_pass):
    """A generator function over the batches of one pass (epoch) each time it is called: passes
    first_pass, first_pass + 1, ... each shuffled by a generator seeded with (seed, pass)."""
    passes = iter(range(first_pass, 2**31))
    bytes_per_jet = spec.n_constituents * (spec.features + 1) * 4
    if (stop - start) * bytes_per_jet <= IN_MEMORY_BYTES:  # read once, shuffle every jet
        inputs, labels = load_inputs(path, spec, start, stop)

        def batches():
            rng = np.random.default_rng([seed, next(passes)])
            order = rng.permutation(len(labels)) if shuffle else np.arange(len(labels))
            for i in range(0, len(order), batch_size):
                rows = order[i : i + batch_size]
                yield {spec.key: inputs[spec.key][rows], "mask": inputs["mask"][rows]}, labels[rows]

        return batches, -(-(stop - start) // batch_size)

    starts = np.arange(start, stop, chunk_size)

    def chunked_batches():  # a chunk at a time: chunk order and jets within a chunk shuffled
        rng = np.random.default_rng([seed, next(passes)])
        for chunk_start in rng.permutation(starts) if shuffle else starts:
            inputs, labels = load_inputs(path, spec, chunk_start, min(chunk_start + chunk_size, stop))
            order = rng.permutation(len(labels)) if shuffle else np.arange(len(labels))
            for i in range(0, len(order), batch_size):
                rows = order[i : i + batch_size]
                yield {spec.key: inputs[spec.key][rows], "mask": inputs["mask"][rows]}, labels[rows]

    return chunked_batches, sum(-(-min(chunk_size, stop - s) // batch_size) for s in starts)


def make_dataset(path, spec=InputSpec(), batch_size=512, shuffle=True, seed=0, start=0, stop=None, chunk_size=16384,
                 first_pass=0):
    """A ``tf.data.Dataset`` of ({'pmu', 'mask'}, label) batches of the jets [start, stop) of ``path``:
    pmu (batch, N, 4) float32 in units of spec.momentum_scale GeV (or 'words' (batch, N, 3), the
    codes of spec.input_format), mask (batch, N), label (batch,).

    Jets whose inputs fit in IN_MEMORY_BYTES (2 GiB: 1.3M jets at N = 80) are read once and
    every pass (epoch) shuffles all of them; larger files are streamed ``chunk_size`` jets at a
    time, shuffling the chunk order and the jets inside each chunk. Pass k = first_pass,
    first_pass + 1, ... is shuffled by a generator seeded with (seed, k): the same seed gives the
    same batches, and a run resumed at epoch k sees what it would have seen. Every jet of the
    file is validated first, so that a bad file is one KerasjetError here and never an error
    inside the running pipeline (a TensorFlow traceback).
    """
    import tensorflow as tf

    total = check_jet_file(path)
    stop = total if stop is None else min(stop, total)
    if not 0 <= start < stop:
        raise KerasjetError(f"{path}: empty jet range [{start}, {stop}) of {total} jets")
    batches, n_batches = _passes(path, spec, batch_size, shuffle, seed, start, stop, chunk_size, first_pass)
    n = spec.n_constituents
    signature = (
        {spec.key: tf.TensorSpec((None, n, spec.features), tf.float32), "mask": tf.TensorSpec((None, n), tf.float32)},
        tf.TensorSpec((None,), tf.float32),
    )
    dataset = tf.data.Dataset.from_generator(batches, output_signature=signature)
    return dataset.apply(tf.data.experimental.assert_cardinality(n_batches)).prefetch(2)
