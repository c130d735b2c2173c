"""The kernels under AddressSanitizer + UndefinedBehaviorSanitizer reproduce hls4ml csim's raw codes."""

import numpy as np
import pytest

hls4ml = pytest.importorskip("hls4ml")

import l1emu  # noqa: E402
from l1emu import reference as ref  # noqa: E402

from . import sanitized  # noqa: E402
from .test_dense_models import _inputs, configure  # noqa: E402

CASES = [("jet_tagger", "rnd_sat"), ("jet_tagger", "narrow_wrap"), ("autoencoder", "resource_rf4"),
         ("autoencoder", "exotic_modes"), ("jet_tagger", "io_stream")]


def test_dense_kernels_under_sanitizers(tmp_path, report):
    builders = {"jet_tagger": ref.jet_tagger, "autoencoder": ref.autoencoder}
    prefixes = []
    for model_name, config in CASES:
        keras_model = builders[model_name]()
        cfg, kwargs = configure(keras_model, config)
        hls_model = ref.convert(keras_model, f"{model_name}-{config}", cfg, **kwargs)
        emu = l1emu.from_hls4ml(hls_model)
        X = np.ascontiguousarray(_inputs(emu, keras_model, seed=7)[::5])
        want = l1emu.quantize(np.asarray(hls_model.predict(X)), emu.output_precisions()[0])
        prefix = str(tmp_path / f"{model_name}-{config}")
        emu.save(prefix + ".l1emu")
        np.save(prefix + ".x.npy", X)
        np.save(prefix + ".want.npy", want)
        prefixes.append(prefix)
    result = sanitized.run(prefixes)
    for line in result.stdout.splitlines():
        report("asan+ubsan " + line.split("/")[-1])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Sanitizer" not in result.stderr and "runtime error" not in result.stderr
    assert result.stdout.count(" 0 mismatches") == len(CASES)
