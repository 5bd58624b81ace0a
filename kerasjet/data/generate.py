"""Top-tagging jets from Pythia8 + FastJet, following the reference-dataset recipe.

Recipe (Kasieczka, Plehn, Thompson, Russell 2019, at particle level): pp at √s = 14 TeV, Pythia8
default tune, no multi-parton interactions, no pile-up. Signal: tt̄ with both W bosons decaying
to quarks; background: QCD 2→2. Anti-kT R = 0.8 (FastJet) on all visible final-state particles
(everything stable except neutrinos); only the leading jet of each event, kept if
550 < pT < 650 GeV and |η| < 2. A signal jet also needs a hadronic top whose four-momentum and
three decay quarks (b and the W's two quarks) lie within ΔR < 0.8 of the jet axis (ΔR in η–φ).
Background jets are not matched. The hard process is generated in a pTHat window around the
jet window so that most events land in it.

Two levels (``GeneratorSettings.level``): ``"detector"`` (the default, the reference dataset's
regime) passes the stable particles through the parametric detector of
:mod:`kerasjet.data.detector` and clusters its massless energy-flow objects; ``"particle"``
clusters the stable particles themselves (massive hadrons). Either way the jet window applies
to the clustered jet and the top matching to the Pythia record.

Determinism: the job is cut into blocks of ``block_size`` jets. Block k seeds its own Pythia
instances from (seed, k), draws each process's detector randomness and shuffles its signal and
background jets with generators of its own, so the output depends on the seed and the settings
only — not on ``workers`` or on sharding.
"""

import functools
import math
from importlib import metadata
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np
from tqdm import tqdm

from kerasjet import kinematics
from kerasjet.data.detector import LEVELS, TOP_MATCHINGS, EnergyFlow, simulate
from kerasjet.data.settings import GeneratorSettings, configuration_name, settings_from_attributes
from kerasjet.data.io import JetArrays, PelicanWriter, check_jet_file, count_jets, read_attributes, read_jets
from kerasjet.files import atomic_output, terminate_as_interrupt
from kerasjet.errors import KerasjetError
from kerasjet.extras import import_extra, require_module

# the generate extra (kerasjet.extras): a missing module is one line naming it
ak = import_extra("awkward", "generate")
fastjet = import_extra("fastjet", "generate")
require_module("pythia8mc", "generate")  # imported where a Pythia is made

NEUTRINO_IDS = (12, 14, 16)
# a process that has accepted no jet after this many events cannot produce one (the reference
# recipe accepts several percent of its events): generation stops with the reason, never hangs
MAX_EVENTS_WITHOUT_JET = 20_000
# the pTHat window must reach within this factor of the jet-pT window: a 2→2 process at pTHat
# gives leading jets near pTHat (QCD jets need pTHat near the jet pT), never one 1.5 times off
PTHAT_REACH = 1.5
# size limits of a job, stated in `kerasjet generate --help`
MAX_JETS = 100_000_000
MAX_CONSTITUENTS = 1000
MAX_SEED = 2**63 - 1  # stored as an HDF5 attribute (int64)
MAX_WORKERS = 256
MAX_SHARDS = 100_000
TOP_ID, W_ID, B_ID = 6, 24, 5
PYTHIA_MAX_SEED = 900_000_000


@dataclass(frozen=True)
class Block:
    """One unit of deterministic work: ``n_signal`` + ``n_background`` jets seeded by ``index``."""

    index: int
    n_signal: int
    n_background: int


def plan_blocks(n_jets, signal_fraction, block_size):
    """Cut a job into blocks; the signal count is exactly round(n_jets · signal_fraction).

    Signal jets are spread so that the running signal count after each block is the rounded
    running share, which keeps every block close to the requested fraction.
    """
    n_signal_total = round(n_jets * signal_fraction)
    blocks, done, signal_done = [], 0, 0
    for index in range(math.ceil(n_jets / block_size)):
        size = min(block_size, n_jets - done)
        signal_upto = round((done + size) * n_signal_total / n_jets)
        blocks.append(Block(index, signal_upto - signal_done, size - (signal_upto - signal_done)))
        done += size
        signal_done = signal_upto
    return blocks


def shard_blocks(blocks, shard, num_shards):
    """The contiguous run of blocks that shard ``shard`` of ``num_shards`` generates."""
    lo = len(blocks) * shard // num_shards
    hi = len(blocks) * (shard + 1) // num_shards
    return blocks[lo:hi]


def block_seeds(seed, block_index):
    """Pythia seeds (signal, background), a shuffling generator and the detector generators
    {process: numpy Generator} of one block."""
    seq = np.random.SeedSequence([seed, block_index])
    pythia_seeds = seq.generate_state(2) % PYTHIA_MAX_SEED + 1
    shuffle, signal_detector, background_detector = (np.random.default_rng(child) for child in seq.spawn(3))
    return int(pythia_seeds[0]), int(pythia_seeds[1]), shuffle, {"signal": signal_detector, "background": background_detector}


class Selection(NamedTuple):
    """The accepted jets of one batch of events: ``passed`` (n_events,) bool, then for the k
    passing events in event order ``pmu`` (k, M, 4) float32 GeV, ``nobj`` (k,) int16, ``truth``
    (k, 4) float32 GeV and ``tracks`` (k, M) bool (constituents that are tracks; all False at
    particle level)."""

    passed: np.ndarray
    pmu: np.ndarray
    nobj: np.ndarray
    truth: np.ndarray
    tracks: np.ndarray


class ProcessJets:
    """Accepted leading jets of one Pythia process, in generation order.

    ``take(n)`` runs Pythia in batches (``Pythia.nextBatch``, awkward arrays), passes every batch
    through the detector at detector level, clusters it with FastJet's multi-event interface and
    keeps the first ``n`` accepted jets. The detector draws from ``detector_rng`` (default: a
    generator seeded with ``pythia_seed``).
    """

    def __init__(self, process, pythia_seed, settings, detector_rng=None):
        self.process = process
        self.settings = settings
        self.detector_rng = np.random.default_rng(pythia_seed) if detector_rng is None else detector_rng
        self.pythia = _new_pythia()
        for command in settings.pythia_commands(process, pythia_seed):
            if not self.pythia.readString(command):
                raise KerasjetError(f"Pythia rejected the setting '{command}'")
        if not self.pythia.init():
            raise KerasjetError(f"Pythia failed to initialise the {process} process")
        self.jet_definition = fastjet.JetDefinition(fastjet.antikt_algorithm, settings.jet_radius)
        self.events = 0
        self.accepted = 0

    def take(self, n):
        """(pmu (n, M, 4) float32, nobj (n,) int16, truth (n, 4) float32) of the next n jets;
        KerasjetError when MAX_EVENTS_WITHOUT_JET events have given no accepted jet (settings
        that cannot produce one: the loop never hangs)."""
        pmu, nobj, truth, have = [], [], [], 0
        while have < n:
            if self.accepted == 0 and self.events >= MAX_EVENTS_WITHOUT_JET:
                s = self.settings
                raise KerasjetError(
                    f"the {self.process} generator accepted no jet in {self.events} events (pTHat window "
                    f"{s.pthat_min:g}-{s.pthat_max:g} GeV, jets {s.jet_pt_min:g} < pT < {s.jet_pt_max:g} GeV, "
                    f"|eta| < {s.jet_abs_eta_max:g}): these settings cannot produce its jets")
            efficiency = (self.accepted + 1) / (self.events + 2)
            batch = int(np.clip((n - have) / efficiency, 8, 256))
            jets = self.select(self.pythia.nextBatch(batch))
            pmu.append(jets.pmu)
            nobj.append(jets.nobj)
            truth.append(jets.truth)
            have += len(jets.nobj)
        return np.concatenate(pmu)[:n], np.concatenate(nobj)[:n], np.concatenate(truth)[:n]

    def select(self, batch, level=None):
        """Cluster and select a ``Pythia.nextBatch`` result at ``level`` (default: the settings'
        level); returns a :class:`Selection`."""
        s = self.settings
        events = _FlatEvents(batch.prt)
        self.events += events.n_events
        visible = np.flatnonzero((events.status > 0) & ~np.isin(np.abs(events.ids), NEUTRINO_IDS))
        if (level or s.level) == "detector":
            objects = simulate(events.ids[visible], events.p[visible], events.event_of[visible], self.detector_rng, s.detector)
        else:
            objects = EnergyFlow(events.p[visible], events.event_of[visible], np.zeros(len(visible), bool))
        owner, constituents, tracks = self._leading_jets(objects, events.n_events)
        jet_p = np.zeros((events.n_events, 4))
        np.add.at(jet_p, owner, constituents)
        jet_pt, jet_eta, jet_phi = kinematics.pt(jet_p), kinematics.eta(jet_p), kinematics.phi(jet_p)
        counts = np.bincount(owner, minlength=events.n_events)
        passed = (counts > 0) & (jet_pt > s.jet_pt_min) & (jet_pt < s.jet_pt_max) & (np.abs(jet_eta) < s.jet_abs_eta_max)

        if self.process == "signal":
            passed, truth = _matched_tops(events, passed, jet_eta, jet_phi, s.match_radius, s.top_matching)
        else:
            truth = np.zeros((events.n_events, 4))
        self.accepted += int(passed.sum())
        keep = passed[owner]
        pmu, nobj, track_slots = _pad_constituents(owner[keep], constituents[keep], tracks[keep], events.n_events, s.max_constituents)
        return Selection(passed, pmu[passed], nobj[passed], truth[passed].astype(np.float32), track_slots[passed])

    def _leading_jets(self, objects, n_events):
        """Cluster each event's objects (an EnergyFlow ordered by event) and return the leading
        jet's constituents: their events (k,), four-momenta (k, 4) GeV and track flags (k,)."""
        object_counts = np.bincount(objects.event, minlength=n_events)
        object_offsets = np.concatenate([[0], np.cumsum(object_counts)])
        momenta = ak.Array(ak.contents.ListOffsetArray(
            ak.index.Index64(object_offsets),
            ak.contents.RecordArray(
                [ak.contents.NumpyArray(np.ascontiguousarray(objects.p[:, c])) for c in (1, 2, 3, 0)],
                ["px", "py", "pz", "E"], parameters={"__record__": "Momentum4D"})))
        clusters = fastjet.ClusterSequence(momenta, self.jet_definition)
        min_pt = 0.5 * self.settings.jet_pt_min  # below this no jet can become an accepted leading jet
        jets = clusters.inclusive_jets(min_pt)
        leading = ak.to_numpy(ak.fill_none(ak.argmax(np.hypot(jets.px, jets.py), axis=1), -1))
        with_jet = np.flatnonzero(leading >= 0)
        jet_offsets = np.concatenate([[0], np.cumsum(ak.num(jets))])
        all_jet_constituents = ak.flatten(clusters.constituent_index(min_pt), axis=1)
        leading_constituents = all_jet_constituents[jet_offsets[with_jet] + leading[with_jet]]
        counts = np.zeros(n_events, np.int64)
        counts[with_jet] = ak.num(leading_constituents)
        owner = np.repeat(np.arange(n_events), counts)
        index = ak.to_numpy(ak.flatten(leading_constituents)) + object_offsets[owner]
        return owner, objects.p[index], objects.is_track[index]


@functools.cache
def _pythia_template():
    """An uninitialised Pythia whose settings and particle data new instances copy (Pythia's XML
    database is read once per process, not once per instance: 80 ms each)."""
    import pythia8mc

    return pythia8mc.Pythia("", False)


def _new_pythia():
    """A fresh, uninitialised Pythia with the default settings and particle data."""
    import pythia8mc

    template = _pythia_template()
    return pythia8mc.Pythia(template.settings, template.particleData, False)


class _FlatEvents:
    """A batch of Pythia event records as flat numpy arrays (one row per particle)."""

    def __init__(self, particles):
        counts = ak.to_numpy(ak.num(particles))
        self.n_events = len(counts)
        self.offsets = np.concatenate([[0], np.cumsum(counts)])
        self.event_of = np.repeat(np.arange(self.n_events), counts)
        flat = ak.flatten(particles)
        self.ids = ak.to_numpy(flat.id)
        self.status = ak.to_numpy(flat.status)
        local = np.stack([ak.to_numpy(flat.daughter1), ak.to_numpy(flat.daughter2)], axis=-1)
        self.daughters = np.where(local > 0, local + self.offsets[self.event_of][:, None], -1)
        self.p = np.stack([ak.to_numpy(flat.p[c]) for c in ("e", "px", "py", "pz")], axis=-1)


def _last_copies(candidates, events):
    """Follow each particle's chain of recoil copies (first daughter with the same id) to its end."""
    while True:
        first = events.daughters[candidates, 0]
        copied = (first >= 0) & (events.ids[np.maximum(first, 0)] == events.ids[candidates])
        if not copied.any():
            return candidates
        candidates = np.where(copied, first, candidates)


def _decay_products(mothers, events):
    """The daughters of each of the k particles ``mothers``: (which mother (m,), particle (m,))."""
    first = events.daughters[mothers, 0]
    lengths = np.where(first >= 0, np.maximum(events.daughters[mothers, 1], first) - first + 1, 0)
    owner = np.repeat(np.arange(len(mothers)), lengths)
    return owner, np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths) + first[owner]


def _single(owner, products, wanted, fallback):
    """Per mother: whether exactly one of its ``products`` is ``wanted``, and that product
    (``fallback``, a valid index, where not)."""
    count = np.bincount(owner[wanted], minlength=len(fallback))
    chosen = fallback.copy()
    chosen[owner[wanted]] = products[wanted]
    return count == 1, np.where(count == 1, chosen, fallback)


def _matched_tops(events, passed, jet_eta, jet_phi, radius, matching="quarks"):
    """The events of ``passed`` (n_events,) bool whose jet axis (jet_eta, jet_phi) (n_events,)
    has a matched hadronic top, and that top's four-momentum (n_events, 4) GeV (zeros elsewhere).

    A top (its last copy, just before decay) matches when it, its b quark and — ``matching``
    'quarks' — the two quarks of its W, or — 'w' — the W itself, all lie within ``radius`` of the
    jet axis; an event takes the first matching top of its record.
    """
    candidates = np.flatnonzero(passed[events.event_of] & (np.abs(events.ids) == TOP_ID))
    tops = np.unique(_last_copies(candidates, events))
    owner, products = _decay_products(tops, events)
    has_b, b = _single(owner, products, np.abs(events.ids[products]) == B_ID, tops)
    has_w, w = _single(owner, products, np.abs(events.ids[products]) == W_ID, tops)
    w_owner, w_products = _decay_products(_last_copies(w, events), events)
    quark = (np.abs(events.ids[w_products]) >= 1) & (np.abs(events.ids[w_products]) <= 5)
    w_owner, w_products = w_owner[quark], w_products[quark]
    event = events.event_of[tops]

    def near(particles, which_top):
        p = events.p[particles]
        axis = event[which_top]
        return kinematics.delta_r(kinematics.eta(p), kinematics.phi(p), jet_eta[axis], jet_phi[axis]) < radius

    index = np.arange(len(tops))
    quarks_near = np.bincount(w_owner, weights=near(w_products, w_owner), minlength=len(tops))
    quarks = np.bincount(w_owner, minlength=len(tops))
    hadronic_w = has_w & (quarks == 2)
    decay_near = (quarks_near == 2) if matching == "quarks" else near(w, index)
    matched = has_b & hadronic_w & decay_near & near(tops, index) & near(b, index)
    matched_events, first = np.unique(event[matched], return_index=True)
    truth = np.zeros((events.n_events, 4))
    truth[matched_events] = events.p[tops[matched][first]]
    selected = np.zeros(events.n_events, bool)
    selected[matched_events] = True
    return selected, truth


def _pad_constituents(owner, constituents, tracks, n_events, max_constituents):
    """Per event: constituents pT-ordered, truncated to max_constituents and zero padded.

    ``owner`` (k,) gives the event of each of the (k, 4) constituents, ``tracks`` (k,) their
    track flags. Returns pmu (n_events, max_constituents, 4) float32, the stored count per event
    (n_events,) int16 and the track flags (n_events, max_constituents) bool.
    """
    order = np.lexsort((-kinematics.pt(constituents), owner))
    owner, constituents, tracks = owner[order], constituents[order], tracks[order]
    starts = np.searchsorted(owner, np.arange(n_events))
    rank = np.arange(len(owner)) - starts[owner]
    stored = rank < max_constituents
    pmu = np.zeros((n_events, max_constituents, 4), np.float32)
    pmu[owner[stored], rank[stored]] = constituents[stored]
    track_slots = np.zeros((n_events, max_constituents), bool)
    track_slots[owner[stored], rank[stored]] = tracks[stored]
    return pmu, np.bincount(owner[stored], minlength=n_events).astype(np.int16), track_slots


def generate_block(block, seed, settings):
    """The jets of one block, signal and background shuffled together (JetArrays)."""
    signal_seed, background_seed, rng, detector_rngs = block_seeds(seed, block.index)
    parts = []
    for process, n, pythia_seed in (("signal", block.n_signal, signal_seed), ("background", block.n_background, background_seed)):
        if n == 0:
            continue
        pmu, nobj, truth = ProcessJets(process, pythia_seed, settings, detector_rngs[process]).take(n)
        parts.append(JetArrays(pmu, nobj, np.full(n, int(process == "signal"), np.int8), truth))
    jets = JetArrays.concatenate(parts)
    return jets.select(rng.permutation(len(jets)))


def _generate_block_in_worker(args):
    return generate_block(*args)


def _ignore_sigint():
    """A worker's start: Ctrl-C is the main process's to handle; FastJet's banner off stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _fastjet_banner_to_stderr()


def _fastjet_banner_to_stderr():
    """Print FastJet's banner (once per process, to C++'s stdout) with stdout pointed at stderr, so
    that a command's stdout holds only its own output."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        fastjet._swig.ClusterSequence.print_banner()
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def file_attributes(settings, n_jets, seed, signal_fraction, shard=None, num_shards=None):
    """Attributes recorded in every generated file (and compared by ``merge``): the generator
    settings as ``generator_*`` and, at detector level, every detector parameter as ``detector_*``."""
    attrs = {f"generator_{k}": v for k, v in asdict(settings).items() if k != "detector"}
    if settings.level == "detector":
        attrs.update({f"detector_{k}": v for k, v in asdict(settings.detector).items()})
    attrs.update(
        layout="pelican",
        generator="kerasjet.data.generate",
        configuration=configuration_name(settings),
        pythia_version=metadata.version("pythia8mc"),
        fastjet_version=metadata.version("fastjet"),
        job_jets=n_jets,
        seed=seed,
        signal_fraction=signal_fraction,
    )
    if shard is not None:
        attrs.update(shard=shard, num_shards=num_shards)
    return attrs


def generate(out, n_jets, seed, settings=GeneratorSettings(), signal_fraction=0.5, workers=1,
             shard=None, num_shards=None, show_progress=True):
    """Generate ``n_jets`` jets into ``out`` (PELICAN layout). Returns the number written.

    With ``shard``/``num_shards`` only that shard's blocks of the ``n_jets`` job are written;
    ``merge`` joins the shards into the file an unsharded job would have written.
    """
    _check_job(n_jets, signal_fraction, workers, settings, shard, num_shards, seed)
    blocks = plan_blocks(n_jets, signal_fraction, settings.block_size)
    if shard is not None:
        blocks = shard_blocks(blocks, shard, num_shards)
    n_out = sum(b.n_signal + b.n_background for b in blocks)
    attrs = file_attributes(settings, n_jets, seed, signal_fraction, shard, num_shards)
    tasks = [(block, seed, settings) for block in blocks]
    _fastjet_banner_to_stderr()
    # SIGTERM (a batch system's time limit) like Ctrl-C: the temporary file is removed
    with terminate_as_interrupt(), atomic_output(out) as tmp, PelicanWriter(tmp, n_out, settings.max_constituents, attrs) as writer, \
            tqdm(total=n_out, unit="jet", desc=f"generating {os.path.basename(out)}", disable=not show_progress) as bar:
        if workers == 1:
            results = map(_generate_block_in_worker, tasks)
            _drain(results, writer, bar)
        else:
            # spawned, not forked: safe when the caller (a notebook, a test) already runs TensorFlow
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                     initializer=_ignore_sigint) as pool:
                try:
                    _drain(pool.map(_generate_block_in_worker, tasks), writer, bar)
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
    return n_out


def _drain(results, writer, bar):
    for jets in results:
        writer.append(jets)
        bar.update(len(jets))


def _check_job(n_jets, signal_fraction, workers, settings, shard, num_shards, seed=0):
    """Every setting of a generate job, before any work: sizes within their limits (the plan,
    the padded arrays and the file stay bounded) and settings that can produce jets."""
    if not 1 <= n_jets <= MAX_JETS:
        raise KerasjetError(f"--jets must lie in [1, {MAX_JETS}] (got {n_jets})")
    if not 0 <= seed <= MAX_SEED:
        raise KerasjetError(f"--seed must lie in [0, 2^63 - 1] (got {seed})")
    if not 0.0 <= signal_fraction <= 1.0:
        raise KerasjetError(f"--signal-fraction must lie in [0, 1] (got {signal_fraction})")
    if workers < 1:
        raise KerasjetError(f"--workers must be at least 1 (got {workers})")
    if settings.level not in LEVELS:
        raise KerasjetError(f"--level must be one of {', '.join(LEVELS)} (got '{settings.level}')")
    if settings.top_matching not in TOP_MATCHINGS:
        raise KerasjetError(f"--top-matching must be one of {', '.join(TOP_MATCHINGS)} (got '{settings.top_matching}')")
    if not 0 <= settings.pthat_min < settings.pthat_max:
        raise KerasjetError(f"--pthat-min must be below --pthat-max (got {settings.pthat_min}, {settings.pthat_max})")
    if not 1 <= settings.max_constituents <= MAX_CONSTITUENTS:
        raise KerasjetError(f"--max-constituents must lie in [1, {MAX_CONSTITUENTS}] (got {settings.max_constituents})")
    if workers > MAX_WORKERS:
        raise KerasjetError(f"--workers must lie in [1, {MAX_WORKERS}] (got {workers})")
    if settings.pthat_min > PTHAT_REACH * settings.jet_pt_max or settings.pthat_max < settings.jet_pt_min / PTHAT_REACH:
        raise KerasjetError(
            f"--pthat-min/--pthat-max: the pTHat window {settings.pthat_min:g}-{settings.pthat_max:g} GeV cannot produce jets "
            f"of {settings.jet_pt_min:g}-{settings.jet_pt_max:g} GeV (leading jets come out near pTHat; QCD jets need pTHat "
            f"near the jet pT): the window must reach into {settings.jet_pt_min / PTHAT_REACH:.0f}-"
            f"{PTHAT_REACH * settings.jet_pt_max:.0f} GeV")
    if (shard is None) != (num_shards is None):
        raise KerasjetError("--shard and --num-shards go together")
    if num_shards is not None and not (num_shards >= 1 and 0 <= shard < num_shards):
        raise KerasjetError(f"--shard must lie in [0, --num-shards) (got {shard} of {num_shards})")
    if num_shards is not None and num_shards > MAX_SHARDS:
        raise KerasjetError(f"--num-shards must lie in [1, {MAX_SHARDS}] (got {num_shards})")


def _shard_jets(attrs):
    """Jets that shard ``attrs['shard']`` of its job must hold (its blocks of the job's plan)."""
    blocks = plan_blocks(attrs["job_jets"], attrs["signal_fraction"], attrs["generator_block_size"])
    return sum(b.n_signal + b.n_background for b in shard_blocks(blocks, attrs["shard"], attrs["num_shards"]))


def _integer_at_least(minimum):
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= minimum


# job attributes a shard's plan is computed from: attribute → (valid, what it must be)
_JOB_ATTRIBUTES = {
    "job_jets": (_integer_at_least(1), "an integer ≥ 1"),
    "signal_fraction": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1, "a fraction in [0, 1]"),
    "generator_block_size": (_integer_at_least(1), "an integer ≥ 1"),
    "generator_max_constituents": (_integer_at_least(1), "an integer ≥ 1"),
    "num_shards": (_integer_at_least(1), "an integer ≥ 1"),
    "shard": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
}


def _check_job_attributes(path, attrs):
    """Refuse a shard whose job attributes cannot plan a job (tampered or foreign files), and one
    whose settings do not make a GeneratorSettings, by one KerasjetError naming file and attribute."""
    for key, (valid, what) in _JOB_ATTRIBUTES.items():
        if key not in attrs:
            raise KerasjetError(f"{path}: attribute '{key}' is missing (not a shard written by kerasjet generate)")
        if not valid(attrs[key]):
            raise KerasjetError(f"{path}: attribute '{key}' is {attrs[key]!r}, expected {what}")
    try:
        settings_from_attributes(attrs)
    except (KeyError, TypeError, ValueError) as err:
        raise KerasjetError(f"{path}: its generator_*/detector_* attributes do not make generator settings ({err})") from None


def _read_shards(shard_paths):
    """(job attributes, {shard index: path}) after checking that the files are the shards of one
    job, each exactly once, with the jets their blocks give; KerasjetError naming the file and
    the attribute otherwise."""
    shards, reference = {}, None
    for path in shard_paths:
        attrs = read_attributes(path)
        if "shard" not in attrs or "num_shards" not in attrs:
            raise KerasjetError(f"{path}: not a shard (no 'shard'/'num_shards' attributes)")
        job = {k: v for k, v in attrs.items() if k != "shard"}
        if reference is None:
            _check_job_attributes(path, attrs)
            reference, reference_path = job, path
        elif job != reference:
            key = next(k for k in ["generator_level", *sorted(set(job) | set(reference))] if job.get(k) != reference.get(k))
            raise KerasjetError(f"{path}: attribute '{key}' is {job.get(key)!r}, {reference_path} has {reference.get(key)!r} "
                                "(shards of different jobs or settings)")
        if not 0 <= attrs["shard"] < attrs["num_shards"]:
            raise KerasjetError(f"{path}: attribute 'shard' = {attrs['shard']} lies outside [0, num_shards = {attrs['num_shards']})")
        if attrs["shard"] in shards:
            raise KerasjetError(f"{path}: attribute 'shard' = {attrs['shard']} given twice (also {shards[attrs['shard']]})")
        n = check_jet_file(path, allow_empty=True)
        if n != _shard_jets(attrs):
            raise KerasjetError(f"{path}: holds {n} jets, but shard {attrs['shard']} of {attrs['num_shards']} of this job "
                                f"has {_shard_jets(attrs)} (overlapping or missing blocks)")
        shards[attrs["shard"]] = path
    missing = sorted(set(range(reference["num_shards"])) - set(shards))
    if missing:
        raise KerasjetError(f"shard {missing[0]} of {reference['num_shards']} is missing")
    return {k: v for k, v in reference.items() if k != "num_shards"}, shards


def merge(out, shard_paths, show_progress=True):
    """Join the shards of one sharded job into ``out``, identical to the unsharded output.

    Every shard of the job must be given exactly once; their settings, seed, job size and
    number of shards must agree, and each must hold exactly its blocks' jets (all checked, every
    jet validated, before anything is written). Jets are streamed in shard order, a chunk at a time.
    """
    if any(os.path.abspath(out) == os.path.abspath(p) for p in shard_paths):
        raise KerasjetError(f"{out}: the output is one of the shards")
    reference, shards = _read_shards(shard_paths)
    num_shards = len(shards)
    n_jets = reference["job_jets"]
    chunk = 10_000
    with atomic_output(out) as tmp, PelicanWriter(tmp, n_jets, reference["generator_max_constituents"], reference) as writer, \
            tqdm(total=n_jets, unit="jet", desc=f"merging into {os.path.basename(out)}", disable=not show_progress) as bar:
        for shard in range(num_shards):
            size = count_jets(shards[shard])
            for start in range(0, size, chunk):
                jets = read_jets(shards[shard], start, min(start + chunk, size))
                writer.append(jets)
                bar.update(len(jets))
    return n_jets
