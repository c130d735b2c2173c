"""l1emu: bit-exact emulation of Level-1 trigger firmware (hls4ml networks, conifer BDTs) without compiling.

    emu = l1emu.from_hls4ml(hls_model)     # or l1emu.from_conifer(conifer_model)
    emu = l1emu.from_project("my_prj")     # a generated hls4ml project directory, not compiled
    y = emu.predict(X)          # float64 firmware outputs
    raw = emu.predict_raw(X)    # int64 raw codes
    emu.save("model.l1emu"); emu = l1emu.load("model.l1emu")
    menu = l1emu.Menu.load("menu.yaml"); res = menu.replay(["zb.h5"])   # rates, efficiencies, thresholds
"""

from .emulator import Emulator, load
from .errors import L1emuError, ModelFileError, ProjectError, UnsupportedLayerError
from .fixed import Spec, parse_precision, quantize, to_double
from .importers.conifer import from_conifer
from .importers.hls4ml import from_hls4ml
from .importers.hls4ml_project import from_project
from .menu import Menu
from .validate import AuditReport, ValidationReport, validate

__all__ = [
    "AuditReport",
    "Emulator",
    "L1emuError",
    "Menu",
    "ModelFileError",
    "ProjectError",
    "Spec",
    "UnsupportedLayerError",
    "ValidationReport",
    "from_conifer",
    "from_hls4ml",
    "from_project",
    "load",
    "parse_precision",
    "quantize",
    "to_double",
    "validate",
]
__version__ = "0.1.0"
