"""Validation of an emulator against its reference firmware simulation: ``l1emu.validate(emu, reference, X)``."""

from .compare import ValidationReport, validate

__all__ = ["ValidationReport", "validate"]
