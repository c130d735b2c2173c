"""Replay saved cases (prefix.l1emu, prefix.x.npy, prefix.want.npy in $L1EMU_SANITIZED_CASES) in the sanitized
build: run by the CTest test sanitized_kernels (tests/cpp/CMakeLists.txt), which preloads libasan."""

import glob
import os
import sys

import numpy as np

import l1emu

failures = 0
cases = sorted(p[: -len(".l1emu")] for p in glob.glob(os.path.join(os.environ["L1EMU_SANITIZED_CASES"], "*.l1emu")))
print(f"l1emu from {os.path.dirname(l1emu.__file__)}")
for case in cases:
    X, want = np.load(case + ".x.npy"), np.load(case + ".want.npy")
    # every evaluation path: the fastest (auto), the forced across-events lanes kernel, the non-VNNI GEMM
    # loop, the scalar reference; batches of 7 on two pool threads next to one call
    bad = 0
    for engine in ("auto", "lanes", "gemm_generic", "reference"):
        os.environ["L1EMU_ENGINE"] = engine
        emu = l1emu.load(case + ".l1emu", threads=2)
        for batch in (len(X), 7):
            outs = [emu.predict_raw(X[i:i + batch]) for i in range(0, len(X), batch)]
            outs = [o if isinstance(o, list) else [o] for o in outs]
            got = np.concatenate([np.concatenate([o.reshape(len(o), -1) for o in out], axis=1) for out in outs])
            bad += int(np.sum(got != want))
    print(f"{case}: {want.size} codes x 4 engines x 2 batchings, {bad} mismatches")
    failures += bad
ugt = os.path.join(os.environ["L1EMU_SANITIZED_CASES"], "ugt_scaling.npz")
if os.path.exists(ugt):  # the menu's uGT input scaling, cast to input_t fixed<14,6,RND_CONV,SAT>
    d = np.load(ugt)
    y = l1emu._core.ugt_shift(d["x"].astype(np.float64), d["offsets"], d["shifts"], "fixed<18,13>")
    bad = int(np.sum(l1emu.quantize(y, "fixed<14,6,RND_CONV,SAT>") != d["want"]))
    print(f"{ugt}: {d['want'].size} codes, {bad} mismatches")
    failures += bad
codes = os.path.join(os.environ["L1EMU_SANITIZED_CASES"], "hardware_codes.npz")
if os.path.exists(codes):  # the menu's uGT object codes against their numpy definition
    from l1emu.events import record

    d = np.load(codes)
    names = [k for k in d.files if not k.endswith(".want")]
    bad = sum(int(np.sum(record.to_hardware({k: d[k]}, k) != d[k + ".want"])) for k in names)
    print(f"{codes}: {sum(d[k + '.want'].size for k in names)} codes, {bad} mismatches")
    failures += bad
cuts = os.path.join(os.environ["L1EMU_SANITIZED_CASES"], "cuts.npz")
if os.path.exists(cuts):  # compiled cut programs against the per-event meaning of each expression
    from l1emu.menu import expr

    d = np.load(cuts)
    chunk = {k: d[k] for k in d.files if k not in ("texts", "want") and not k.startswith("seed.")}
    seeds = {k[5:]: d[k] for k in d.files if k.startswith("seed.")}
    bad = sum(int(np.sum(expr.evaluate(expr.parse(str(t)), chunk, seeds) != w)) for t, w in zip(d["texts"], d["want"]))
    print(f"{cuts}: {d['want'].size} decisions of {len(d['texts'])} cuts, {bad} mismatches")
    failures += bad
sys.exit(1 if failures or not cases else 0)
