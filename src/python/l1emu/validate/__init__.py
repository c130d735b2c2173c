"""Validation of an emulator against its reference firmware simulation: ``l1emu.validate(emu, reference, X)``."""

from .audit import AuditReport
from .compare import ValidationReport, validate

__all__ = ["AuditReport", "ValidationReport", "validate"]
