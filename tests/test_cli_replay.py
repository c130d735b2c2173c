"""`l1emu replay` on the command line: outputs, one-line errors with exit status 2, nothing left behind."""

import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from l1emu import events
from l1emu.cli import main

from .cases.menu import MENU, toy_events


def _files(folder, n, seed):
    data = toy_events(n, seed)
    path = str(folder / f"ev{seed}.h5")
    events.write(path, [data], metadata={"sources": [{"process": "toy", "n_events": n}]})
    return path, data


def test_replay_command_writes_the_report(toy_model, tmp_path):  # noqa: F811
    (toy_model.parent / "cli_menu.yaml").write_text(MENU)
    bkg, data = _files(tmp_path, 20_000, 41)
    sig, _ = _files(tmp_path, 3000, 42)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["replay", str(toy_model.parent / "cli_menu.yaml"), bkg, "--signal", f"sig={sig}",
                                       "-o", str(out), "--decisions", str(tmp_path / "dec.parquet"), "--no-plots"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["format"] == "l1emu-rates" and report["background"]["n_events"] == 20_000
    assert report["seeds"]["J50"]["count_unprescaled"] == int((data["jet"][:, 0, 0] >= 50).sum())
    assert report["signals"]["sig"]["n_events"] == 3000
    assert (out / "rates.csv").read_text().startswith("seed,kind,prescale")
    assert "Total" in result.output and "crossings replayed" in result.output
    # a second run refuses to replace the output without --overwrite, in one line, exit status 2
    again = CliRunner().invoke(main, ["replay", str(toy_model.parent / "cli_menu.yaml"), bkg, "-o", str(out)])
    assert again.exit_code == 2 and "exists" in again.output and "Traceback" not in again.output


def test_replay_command_errors(toy_model, tmp_path):  # noqa: F811
    bad = toy_model.parent / "cli_bad.yaml"
    bad.write_text(MENU.replace("jet[0].pt >= 50", "jet[0].mass >= 50"))
    bkg, _ = _files(tmp_path, 100, 43)
    cases = [
        ([str(bad), bkg], "unknown attribute 'mass'"),
        ([str(toy_model.parent / "nope.yaml"), bkg], "cannot read menu"),
        ([str(bad).replace("cli_bad", "cli_menu"), str(tmp_path / "missing.h5")], "no such event file"),
        ([str(bad), bkg, "--signal", "nofile"], "expected NAME=FILE"),
    ]
    (toy_model.parent / "cli_menu.yaml").write_text(MENU)
    for args, message in cases:
        out = tmp_path / "o"
        r = CliRunner().invoke(main, ["replay", *args, "-o", str(out)])
        assert r.exit_code == 2, (args, r.output)
        assert message in r.output and "Traceback" not in r.output, r.output
        assert not out.exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]
    # a corrupt event file is named in the error and leaves nothing
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(open(bkg, "rb").read()[:5000])
    r = CliRunner().invoke(main, ["replay", str(toy_model.parent / "cli_menu.yaml"), str(corrupt), "-o",
                                  str(tmp_path / "o2")])
    assert r.exit_code == 2 and "corrupt.h5" in r.output and not (tmp_path / "o2").exists()
    np.testing.assert_equal(sorted(p for p in os.listdir(tmp_path) if p.startswith(".")), [])


def test_info_command(toy_model, tmp_path):  # noqa: F811
    (toy_model.parent / "info_menu.yaml").write_text(MENU)
    r = CliRunner().invoke(main, ["info", str(toy_model.parent / "info_menu.yaml")])
    assert r.exit_code == 0 and "8 seeds" in r.output and "solved for 1e+06 Hz" in r.output, r.output
    r = CliRunner().invoke(main, ["info", str(toy_model)])
    assert r.exit_code == 0 and "total MACs per event: 32" in r.output, r.output
    path, _ = _files(tmp_path, 50, 44)
    r = CliRunner().invoke(main, ["info", path])
    assert r.exit_code == 0 and json.loads(r.output)["n_events"] == 50
    bad = tmp_path / "bad.l1emu"
    bad.write_bytes(b"junk")
    r = CliRunner().invoke(main, ["info", str(bad)])
    assert r.exit_code == 2 and "bad.l1emu" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("when", ["pass 2", 2.0, 3.5, 5.0])
def test_sigterm_during_replay_leaves_nothing(toy_model, tmp_path, when):  # noqa: F811
    """SIGTERM while loading, in pass 1 (two chunk workers evaluating), once pass 2 writes the decisions, or
    after a fixed delay: exit 2 with one line, no output, no temporary, no hang (the chunk workers are joined
    before the error propagates; a decisions file published before the report is removed)."""
    import signal
    import subprocess
    import sys
    import time

    (toy_model.parent / "term_menu.yaml").write_text(MENU)
    bkg, _ = _files(tmp_path, 400_000 if when == "pass 2" else 1_200_000, 45)  # delays: ~10 s of replay
    out, dec = tmp_path / "out", tmp_path / "dec.h5"
    proc = subprocess.Popen([sys.executable, "-c", "from l1emu.cli import main; main()", "replay",
                             str(toy_model.parent / "term_menu.yaml"), bkg, "-o", str(out), "--decisions", str(dec),
                             "--chunk-size", "2000", "--threads", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    if when == "pass 2":
        deadline = time.time() + 120
        while not [p for p in os.listdir(tmp_path) if p.startswith(".dec.h5")] and time.time() < deadline:
            time.sleep(0.05)  # the decisions temporary exists: pass 2 is running
    else:
        time.sleep(when)
    assert proc.poll() is None, proc.communicate()[0]
    proc.send_signal(signal.SIGTERM)
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 2, output
    assert "terminated by SIGTERM: no output written" in output and "Traceback" not in output
    assert not out.exists() and not dec.exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]
