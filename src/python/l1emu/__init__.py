"""l1emu: bit-exact emulation of Level-1 trigger firmware (hls4ml networks, conifer BDTs) without compiling.

    emu = l1emu.from_hls4ml(hls_model)     # or l1emu.from_conifer(conifer_model)
    y = emu.predict(X)          # float64 firmware outputs
    raw = emu.predict_raw(X)    # int64 raw codes
    emu.save("model.l1emu"); emu = l1emu.load("model.l1emu")
"""

from .emulator import Emulator, load
from .errors import L1emuError, ModelFileError, UnsupportedLayerError
from .fixed import Spec, parse_precision, quantize, to_double
from .importers.conifer import from_conifer
from .importers.hls4ml import from_hls4ml
from .validate import AuditReport, ValidationReport, validate

__all__ = [
    "AuditReport",
    "Emulator",
    "L1emuError",
    "ModelFileError",
    "Spec",
    "UnsupportedLayerError",
    "ValidationReport",
    "from_conifer",
    "from_hls4ml",
    "load",
    "parse_precision",
    "quantize",
    "to_double",
    "validate",
]
__version__ = "0.1.0"
