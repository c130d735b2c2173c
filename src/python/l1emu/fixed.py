"""Python face of the runtime-typed fixed-point core (ap_fixed semantics, see src/cpp/fixed)."""

import numpy as np

from . import _core
from .errors import L1emuError

Spec = _core.Spec


def parse_precision(text) -> "Spec":
    """Parse an hls4ml/Vivado precision (``fixed<16,6,RND,SAT>``, ``ap_ufixed<8,0>``, ``ap_int<8>`` ...)."""
    try:
        return _core.Spec(str(text))
    except ValueError as err:
        raise L1emuError(str(err)) from None


def quantize(x, precision) -> np.ndarray:
    """Raw int64 codes of ``x`` assigned to ``precision`` exactly as ap_fixed's double constructor does."""
    return _core.quantize(np.asarray(x, dtype=np.float64), str(parse_precision(precision)))


def to_double(codes, precision) -> np.ndarray:
    """float64 values of raw codes of ``precision`` (ap_fixed's to_double)."""
    return _core.to_double(np.asarray(codes, dtype=np.int64), str(parse_precision(precision)))
