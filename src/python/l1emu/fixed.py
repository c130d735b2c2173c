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


def check_precision(text, where) -> str:
    """The canonical spelling of precision ``text``; L1emuError naming ``where`` (a layer, a key) if it is bad."""
    try:
        return str(parse_precision(text))
    except L1emuError as err:
        raise L1emuError(f"{where}: {err}") from None


def quantize(x, precision, check_finite=True) -> np.ndarray:
    """Raw int64 codes of ``x`` assigned to ``precision`` exactly as ap_fixed's double constructor does.

    NaN or inf raise ``L1emuError``, as ``Emulator.predict`` does; with ``check_finite=False`` they get the
    codes ap_fixed's bit manipulation gives them (what ``predict(X, check_finite=False)`` uses)."""
    spec = str(parse_precision(precision))
    try:
        x = np.asarray(x)  # float32 stays float32: each value is widened exactly, as its float64 copy would be
        if x.dtype != np.float32:
            x = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise L1emuError(f"quantize: values must be real numbers ({err})") from None
    if check_finite and not np.isfinite(x).all():
        first = np.argwhere(~np.isfinite(x))[0] if x.ndim else ()
        at = f" (first at index {tuple(int(i) for i in first)})" if x.ndim else ""
        raise L1emuError(f"quantize: values contain NaN or inf{at}; pass check_finite=False to quantize them "
                         "as ap_fixed's double constructor would")
    return _core.quantize(x, spec)


def to_double(codes, precision) -> np.ndarray:
    """float64 values of raw codes of ``precision`` (ap_fixed's to_double)."""
    return _core.to_double(np.asarray(codes, dtype=np.int64), str(parse_precision(precision)))
