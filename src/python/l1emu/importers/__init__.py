"""Importers turn a trained, converted model into l1emu's model graph (see model_file)."""
