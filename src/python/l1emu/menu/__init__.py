"""The Level-1 menu: seeds (cuts, score thresholds, prescales) replayed on event streams into rates,
efficiencies and solved thresholds.

    menu = l1emu.Menu.load("models/menu.yaml")
    res = menu.replay(["zb.h5"], signals={"ttbar": ["tt.h5"]})
    res.write("out")        # out/report.json, out/rates.csv, out/*.png
"""

from .replay import ReplayError, replay
from .report import ReplayResult
from .spec import Algorithm, Menu, MenuError, Seed

__all__ = ["Algorithm", "Menu", "MenuError", "ReplayError", "ReplayResult", "Seed", "replay"]
