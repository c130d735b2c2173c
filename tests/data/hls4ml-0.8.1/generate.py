"""How the hls4ml 0.8.1 projects beside this file were made (test data of tests/test_from_project.py):
hls4ml 0.8.1 installed with `pip install --no-deps hls4ml==0.8.1 calmjs.parse tabulate` into a throwaway venv
that sees l1emu's TensorFlow 2.14, then `python generate.py`; of each project only build_lib.sh, the bridge,
hls4ml_config.yml and firmware/ (sources, weights) are kept, and one copy of its nnet_utils (the same for
both io types); ap_types is the same as hls4ml 1.3.0's and is taken from the installed hls4ml."""

import sys, numpy as np, tensorflow as tf
import hls4ml
from tensorflow.keras import layers as L
tf.keras.utils.set_random_seed(1)
inp = L.Input((10,), name="x")
h = L.Dense(12, name="fc1")(inp)
h = L.ReLU(name="relu1")(h)
h = L.Dense(8, name="fc2")(h)
h = L.Activation("tanh", name="tanh")(h)
out = L.Dense(4, name="out")(h)
model = tf.keras.Model(inp, out)
rng = np.random.default_rng(2)
for l in model.layers:
    if l.get_weights():
        l.set_weights([np.round(rng.normal(0, 0.5, w.shape) * 32) / 32 for w in l.get_weights()])
for io in ("io_parallel", "io_stream"):
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name")
    cfg["LayerName"]["fc1"]["Precision"] = {"weight": "fixed<8,3>", "bias": "fixed<8,3>", "accum": "fixed<14,5,RND,SAT>", "result": "fixed<12,4,RND,SAT>"}
    m = hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, backend="Vitis", io_type=io,
                                                   output_dir=f"/tmp/h08/dense-{io}", part="xcvu9p-flga2104-2L-e")
    m.write()
print(hls4ml.__version__)
