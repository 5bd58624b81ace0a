"""Settings of a generation job and the names of the jet configurations they make.

Light on purpose (no Pythia, no FastJet): reading a file's configuration, naming it and
checking it needs only this module and :mod:`kerasjet.data.io`.
"""

from dataclasses import asdict, dataclass, field, fields

from kerasjet.data.detector import DEFAULT_DETECTOR, DETECTOR_CONFIGURATIONS, LEGACY_DETECTOR, DetectorSettings, detector_name
from kerasjet.data.io import read_attributes


@dataclass(frozen=True)
class GeneratorSettings:
    """Physics and bookkeeping settings of a generation job (energies and momenta in GeV).

    ``level``: cluster the stable particles ('particle') or the energy-flow objects of the
    parametric detector with the parameters ``detector`` ('detector'). ``mpi``: Pythia's
    multi-parton interactions (``PartonLevel:MPI``). ``top_matching``: which partons of a
    hadronic top must lie within ``match_radius`` of a signal jet's axis besides the top itself —
    ``"quarks"``: its b and both quarks of its W; ``"w"``: its b and the W boson.

    The defaults (Delphes 3.3's ATLAS detector, MPI on, W-matched tops, pTHat 500–700 GeV) are
    the configuration closest to the reference dataset's published distributions among those
    measured by ``benchmarks/regime.py`` (results/detector/regime.md). kerasjet 0.1 generated
    "atlas-delphes-3.4" jets: MPI off, quark-matched tops, the separate-calorimeter detector."""

    sqrt_s: float = 14000.0
    pthat_min: float = 500.0
    pthat_max: float = 700.0
    jet_radius: float = 0.8
    jet_pt_min: float = 550.0
    jet_pt_max: float = 650.0
    jet_abs_eta_max: float = 2.0
    match_radius: float = 0.8
    max_constituents: int = 200
    block_size: int = 500
    level: str = "detector"
    mpi: bool = True
    top_matching: str = "w"
    detector: DetectorSettings = field(default_factory=lambda: DETECTOR_CONFIGURATIONS[DEFAULT_DETECTOR])

    def pythia_commands(self, process, seed):
        """Pythia8 settings for ``process`` ('signal' or 'background') and a Pythia seed."""
        common = [
            "Print:quiet = on",
            f"Beams:eCM = {self.sqrt_s}",
            f"PartonLevel:MPI = {'on' if self.mpi else 'off'}",
            f"PhaseSpace:pTHatMin = {self.pthat_min}",
            f"PhaseSpace:pTHatMax = {self.pthat_max}",
            "Random:setSeed = on",
            f"Random:seed = {seed}",
        ]
        if process == "signal":
            return common + ["Top:gg2ttbar = on", "Top:qqbar2ttbar = on", "24:onMode = off", "24:onIfAny = 1 2 3 4 5"]
        return common + ["HardQCD:all = on"]


REFERENCE_PTHAT_WINDOW = (500.0, 700.0)  # GeV: configuration names mention any other window
# kerasjet 0.1's jets at detector level: its detector, multi-parton interactions off, quark-matched tops
KERASJET_0_1 = GeneratorSettings(detector=DETECTOR_CONFIGURATIONS[LEGACY_DETECTOR], mpi=False, top_matching="quarks")
# what a kerasjet file without these attributes was generated with (kerasjet 0.1)
LEGACY_ATTRIBUTES = {"generator_mpi": KERASJET_0_1.mpi, "generator_top_matching": KERASJET_0_1.top_matching,
                     **{f"detector_{k}": v for k, v in asdict(KERASJET_0_1.detector).items()}}


def configuration_name(settings):
    """A short name of the jets that ``settings`` make: the detector configuration's name
    (:data:`kerasjet.data.detector.DETECTOR_CONFIGURATIONS`, 'custom-detector' for another) or
    'particle', then '+mpi' with multi-parton interactions, '+w-matching' for W-matched tops and
    '+pthat-A-B' for a pTHat window other than 500–700 GeV."""
    if settings.level == "particle":
        name = "particle"
    else:
        name = detector_name(settings.detector)
        name = "custom-detector" if name == "custom" else name
    if settings.mpi:
        name += "+mpi"
    if settings.top_matching != "quarks":
        name += f"+{settings.top_matching}-matching"
    if (settings.pthat_min, settings.pthat_max) != REFERENCE_PTHAT_WINDOW:
        name += f"+pthat-{settings.pthat_min:g}-{settings.pthat_max:g}"
    return name


def settings_from_attributes(attrs):
    """The GeneratorSettings a kerasjet file was generated with, from its attributes (a file
    written before a setting was recorded gets kerasjet 0.1's value, LEGACY_ATTRIBUTES); None for
    a file kerasjet did not generate."""
    if attrs.get("generator") != "kerasjet.data.generate":
        return None
    values = {**LEGACY_ATTRIBUTES, "generator_level": "particle", **attrs}
    kwargs = {f.name: values[f"generator_{f.name}"] for f in fields(GeneratorSettings)
              if f.name != "detector" and f"generator_{f.name}" in values}
    if kwargs["level"] == "detector":
        kwargs["detector"] = DetectorSettings(**{f.name: values[f"detector_{f.name}"] for f in fields(DetectorSettings)})
    return GeneratorSettings(**kwargs)


def file_configuration(path):
    """The configuration name (:func:`configuration_name`) of the jets in ``path``, 'not recorded'
    for a file kerasjet did not generate."""
    settings = settings_from_attributes(read_attributes(path))
    return "not recorded" if settings is None else configuration_name(settings)
