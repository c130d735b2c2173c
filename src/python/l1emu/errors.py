"""Exceptions raised by l1emu: one clear error naming what is wrong."""


class L1emuError(ValueError):
    """Base class of l1emu's errors."""


class UnsupportedLayerError(L1emuError, NotImplementedError):
    """A layer (named, with its class) that l1emu cannot emulate bit-exactly."""


class ModelFileError(L1emuError):
    """A model file that is corrupt, truncated, foreign or of an unknown version."""


class EventFileError(L1emuError):
    """An event file that is truncated, foreign, incompatible, or would be overwritten."""


class ProjectError(L1emuError):
    """A generated hls4ml project directory l1emu cannot read or emulate (names the file and line)."""
