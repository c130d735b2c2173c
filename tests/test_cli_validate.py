"""`l1emu validate` on a bundled model file against its conifer reference: 0 mismatches, a perturbed copy
caught (exit status 1), argument errors in one line (exit status 2)."""

import json
import os
import shutil

from click.testing import CliRunner

import l1emu
from l1emu.cli import main

MODELS = os.path.join(os.path.dirname(__file__), "..", "models")


def test_validate_model_file_against_conifer(tmp_path):
    model = os.path.join(MODELS, "jet_bdt.l1emu")
    r = CliRunner().invoke(main, ["validate", model, "--random", "3000", "-o", str(tmp_path / "v.json")])
    assert r.exit_code == 0, r.output
    assert "bit-exact: 3000 events x 5 outputs, 0 mismatching events" in r.output
    report = json.loads((tmp_path / "v.json").read_text())["jet_bdt.l1emu"]
    assert report["bit_exact"] and report["n_events"] == 3000 and report["reference"] == "conifer cpp"
    # every leaf value moved by one LSB: the comparison must notice (reference given explicitly)
    graph = l1emu.load(model).graph
    arrays = graph["layers"][0]["arrays"]
    leaves = arrays["children_left"] < 0
    arrays["value"] = arrays["value"] + leaves
    bad = tmp_path / "bad.l1emu"
    l1emu.Emulator(graph).save(bad)
    r = CliRunner().invoke(main, ["validate", str(bad), "--random", "20000", "--reference",
                                  os.path.join(MODELS, "jet_bdt.conifer.json")])
    assert r.exit_code == 1, r.output
    assert "NOT bit-exact" in r.output


def test_validate_argument_errors(tmp_path):
    model = os.path.join(MODELS, "jet_bdt.l1emu")
    lonely = tmp_path / "lonely.l1emu"
    shutil.copy(model, lonely)
    cases = [([model], "exactly one of --events FILE or --random N"),
             ([model, "--random", "0"], "positive number"),
             ([str(lonely), "--random", "10"], "no firmware reference beside it")]
    for args, message in cases:
        r = CliRunner().invoke(main, ["validate", *args])
        assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output, r.output
