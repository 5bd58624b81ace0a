"""kerasjet: tiny symmetry-aware jet taggers, from Pythia8 jets to FPGA firmware.

Importing kerasjet before TensorFlow turns on TensorFlow's BFC allocator on the CPU: the pair
arrays of nanoPELICAN are tens of MB per batch, and TensorFlow's default CPU allocator returns
fresh pages for each, which made every elementwise op 4-5 times slower on our machines.
"""

import os

os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
