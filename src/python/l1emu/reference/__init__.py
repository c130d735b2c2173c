"""Reference firmware: the bundled reference networks (QKeras/Keras builders) and hls4ml C simulation
of them, compiled once per generated-source content and cached. Needs the 'hls4ml' extra."""

from .csim import convert
from .models import autoencoder, deepsets_tagger, jet_tagger, jet_tagger_softmax

__all__ = ["autoencoder", "convert", "deepsets_tagger", "jet_tagger", "jet_tagger_softmax"]
