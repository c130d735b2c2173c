import os

# Compiled hls4ml reference projects are cached inside the test tree (content-addressed, see
# l1emu.reference.csim), so repeated runs skip the C++ compilation.
os.environ.setdefault("L1EMU_CACHE", os.path.join(os.path.dirname(__file__), ".cache"))
