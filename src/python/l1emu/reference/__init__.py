"""Reference firmware: the bundled reference networks (QKeras/Keras builders) and hls4ml C simulation
of them, compiled once per generated-source content and cached (needs the 'hls4ml' extra); conifer BDTs
built with conifer's cpp backend from scikit-learn or xgboost, cached likewise (needs the 'conifer'
extra); their RTL truth, conifer's VHDL backend simulated with GHDL (bdt_rtl); the natively compiled
firmware loop (native). One build cache for all (reference.cache: $L1EMU_CACHE or ./.l1emu-cache)."""

from . import cache
from .bdt import convert_sklearn, convert_xgboost, jet_bdt, train_jet_bdt, train_jet_bdt_xgboost
from .csim import convert, predict as csim_predict
from .models import (autoencoder, conv_encoder_narrow, conv_encoder_narrow_config,
                     deepsets_tagger, jet_tagger, jet_tagger_softmax, vae_encoder_conv,
                     vae_encoder_conv_config, vae_encoder_dense)

__all__ = ["autoencoder", "cache", "conv_encoder_narrow", "conv_encoder_narrow_config", "convert",
           "convert_sklearn", "convert_xgboost", "csim_predict", "deepsets_tagger", "jet_bdt", "jet_tagger",
           "jet_tagger_softmax", "train_jet_bdt", "train_jet_bdt_xgboost", "vae_encoder_conv",
           "vae_encoder_conv_config", "vae_encoder_dense"]
