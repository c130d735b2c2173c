"""Event files and ``l1emu generate`` under faults (issue 12): disk full, signals, a second writer, the
umask, bad targets, damaged files, duplicated inputs. Each fault ends in one clear error and leaves
nothing on disk."""

import contextlib
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from l1emu import atomic
from l1emu import events as ev
from l1emu.errors import EventFileError

import l1emu

# subprocesses import the l1emu this test imported (the installed package, or a source tree on PYTHONPATH)
SRC = os.path.dirname(os.path.dirname(os.path.abspath(l1emu.__file__)))
CLI = [sys.executable, "-c", "from l1emu.cli import main; main()"]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.abspath(SRC) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _cli(*args, timeout=300):
    return subprocess.run([*CLI, *args], env=_env(), capture_output=True, text=True, timeout=timeout)


def _error_line(stderr):
    """The CLI's error: exactly one line, no traceback."""
    lines = [ln for ln in stderr.splitlines() if ln.strip() and "━" not in ln and " -> " not in ln]
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def _listing(folder):
    return sorted(os.listdir(folder))


# ------------------------------------------------------------------------------------------------
# 1. disk full


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 3 MB tmpfs (CI runs as root here; not being able to mount one is a failure, not a skip)."""
    mnt = tmp_path / "full"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for the disk-full test (run as root): {res.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


@pytest.mark.parametrize("ext", ["h5", "parquet"])
def test_disk_full_one_error_nothing_left(small_tmpfs, ext):
    target = small_tmpfs / f"tt.{ext}"
    res = _cli("generate", "-p", "ttbar", "-n", "20000", "--images", "-o", str(target))
    assert res.returncode == 2, (res.returncode, res.stderr[-2000:])  # not 139 (segfault), not 1 (traceback)
    assert _error_line(res.stderr) == f"Error: cannot write event file {str(target)!r}: No space left on device"
    assert _listing(small_tmpfs) == []
    # the library: the same error, and the process goes on (no crash when h5py is closed at exit)
    with pytest.raises(EventFileError, match=re.escape(f"cannot write event file {str(target)!r}: No space left")):
        ev.write(target, ev.generate("ttbar", 20000, seed=1, with_images=True))
    assert _listing(small_tmpfs) == []
    ev.write(target, ev.generate("ttbar", 100, seed=1))  # the disk is usable again
    assert ev.info(target)["n_events"] == 100


# ------------------------------------------------------------------------------------------------
# 2. signals: SIGTERM, SIGHUP, Ctrl-C (SIGINT to the whole process group); no temp file, no orphan


def _children(pid):
    """Live (not zombie) processes whose parent is ``pid``."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(entry))
    return out


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for(cond, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # pytest-xdist workers ignore SIGINT, and children inherit that


@contextlib.contextmanager
def _generating(folder, workers=2):
    """A running ``l1emu generate --workers N`` (own session), once its progress has started: yields
    (process, worker pids, target). Anything of it still alive at the end is killed."""
    target = folder / "zb.h5"
    proc = subprocess.Popen([*CLI, "generate", "-p", "zerobias", "-n", "50000000", "--workers", str(workers),
                             "-o", str(target)], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, preexec_fn=_default_sigint)
    workers_seen = []
    try:
        def started():
            assert proc.poll() is None, proc.communicate()
            tmps = [n for n in os.listdir(folder) if n.endswith(".tmp")]
            if tmps and os.path.getsize(folder / tmps[0]) > 0 and len(_children(proc.pid)) >= (workers if workers > 1 else 0):
                workers_seen[:] = _children(proc.pid)
                return True
            return False

        _wait_for(started, 120, "the progress to start")
        yield proc, workers_seen, target
    finally:
        for pid in [proc.pid, *workers_seen]:
            with contextlib.suppress(ProcessLookupError):
                if _alive(pid):
                    os.kill(pid, signal.SIGKILL)
        proc.wait(30)
        proc.stdout.close()
        proc.stderr.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_signal_during_generate_cleans_up(tmp_path, signum):
    with _generating(tmp_path) as (proc, workers, target):
        assert len(workers) == 2
        if signum == signal.SIGINT:
            os.killpg(proc.pid, signum)  # Ctrl-C: the terminal signals the whole process group
        else:
            os.kill(proc.pid, signum)  # kill / a closed terminal: the main process alone
        proc.wait(60)
        stderr = proc.stderr.read()
        assert proc.returncode == 2, stderr
        how = "interrupted" if signum == signal.SIGINT else f"terminated by {signal.Signals(signum).name}"
        assert _error_line(stderr) == f"Error: {how}: nothing written to {str(target)!r}"
        _wait_for(lambda: not any(_alive(p) for p in workers), 10, "the workers to exit")
    assert _listing(tmp_path) == []  # no target, no .tmp, no .lock


def test_killed_generate_leaves_no_orphan_workers(tmp_path):
    with _generating(tmp_path) as (proc, workers, target):
        os.kill(proc.pid, signal.SIGKILL)  # no clean-up possible: the workers must still die with it
        proc.wait(30)
        _wait_for(lambda: not any(_alive(p) for p in workers), 10, "the workers to exit")
    # what SIGKILL cannot clean: the hidden temporary and the (released) lock file; nothing else
    assert not target.exists()
    assert all(n.startswith(".zb.h5.") for n in _listing(tmp_path))
    ev.write(target, ev.generate("zerobias", 10, seed=1))  # a stale lock file does not block
    assert ".zb.h5.lock" not in _listing(tmp_path)


def test_stream_closed_early_stops_its_workers():
    before = set(_children(os.getpid()))
    stream = iter(ev.generate("zerobias", 10_000_000, seed=1, workers=2))
    next(stream)
    workers = set(_children(os.getpid())) - before  # this process may have other children (e.g. a Dask cluster)
    assert len(workers) >= 2
    stream.close()
    _wait_for(lambda: not workers & set(_children(os.getpid())), 20, "the workers of a closed stream to exit")


def test_keyboard_interrupt_during_write_leaves_nothing(tmp_path):
    def interrupted():
        yield from ev.generate("zerobias", 100, seed=1)
        raise KeyboardInterrupt

    for ext in ("h5", "parquet"):
        with pytest.raises(KeyboardInterrupt):
            ev.write(tmp_path / f"x.{ext}", interrupted())
    assert _listing(tmp_path) == []


# ------------------------------------------------------------------------------------------------
# 3. a second writer of the same target


def test_second_writer_refuses(tmp_path):
    target = tmp_path / "a.h5"
    with atomic.claim(target, "event file", EventFileError):  # another writer holds the target
        with pytest.raises(EventFileError, match=re.escape(f"cannot write event file {str(target)!r}: another process is writing it")):
            ev.write(target, ev.generate("zerobias", 10, seed=1))
        with pytest.raises(EventFileError, match="another process is writing it"):
            ev.write(target, ev.generate("zerobias", 10, seed=1), overwrite=True)
        assert _listing(tmp_path) == [".a.h5.lock"]
    assert _listing(tmp_path) == []
    ev.write(target, ev.generate("zerobias", 10, seed=1))
    assert _listing(tmp_path) == ["a.h5"]


def test_two_cli_generate_same_target(tmp_path):
    with _generating(tmp_path, workers=1) as (first, _, target):
        res = _cli("generate", "-p", "ttbar", "-n", "100", "-o", str(target))
        assert res.returncode == 2
        assert _error_line(res.stderr).startswith(
            f"Error: cannot write event file {str(target)!r}: another process is writing it")
        first.send_signal(signal.SIGTERM)
        first.wait(60)
    assert _listing(tmp_path) == []


def test_target_created_meanwhile_is_not_replaced(tmp_path):
    target = tmp_path / "a.h5"

    def racing():
        for i, chunk in enumerate(ev.generate("zerobias", 300, seed=1, chunk_size=100)):
            if i == 1:
                target.write_text("someone else's file")
            yield chunk

    with pytest.raises(EventFileError, match="created by someone else while it was being written; not replaced"):
        ev.write(target, racing())
    assert target.read_text() == "someone else's file" and _listing(tmp_path) == ["a.h5"]


# ------------------------------------------------------------------------------------------------
# 4. file modes follow the umask


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_event_files_get_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        for ext in ("h5", "parquet"):
            path = tmp_path / f"zb.{ext}"
            ev.write(path, ev.generate("zerobias", 10, seed=1))
            assert os.stat(path).st_mode & 0o777 == mode
            ev.append(path, ev.generate("zerobias", 10, seed=2))
            assert os.stat(path).st_mode & 0o777 == mode
    finally:
        os.umask(old)


# ------------------------------------------------------------------------------------------------
# 5. bad targets: one line before any progress bar


def test_cli_bad_output_paths(tmp_path):
    from click.testing import CliRunner

    from l1emu.cli import main

    runner = CliRunner()
    target = os.path.join(str(tmp_path), "nodir", "a.h5")
    res = runner.invoke(main, ["generate", "-p", "ttbar", "-n", "10", "-o", target])
    assert res.exit_code == 2
    assert res.output.strip() == (f"Error: cannot write event file {target!r}: directory "
                                  f"{os.path.join(str(tmp_path), 'nodir')!r} does not exist")
    folder = tmp_path / "adir"
    folder.mkdir()
    res = runner.invoke(main, ["generate", "-p", "ttbar", "-n", "10", "-o", str(folder)])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1
    assert str(folder) in res.output and "is a directory" in res.output
    with pytest.raises(EventFileError, match=re.escape(f"cannot write event file {str(folder)!r}: it is a directory")):
        ev.write(folder, ev.generate("zerobias", 10, seed=1), format="h5")
    existing = tmp_path / "zb.h5"
    ev.write(existing, ev.generate("zerobias", 10, seed=1))
    res = runner.invoke(main, ["generate", "-p", "ttbar", "-n", "10", "-o", str(existing)])
    assert res.exit_code == 2 and res.output.strip() == (
        f"Error: event file {str(existing)!r} exists; pass overwrite (--overwrite) to replace it")
    assert _listing(tmp_path) == ["adir", "zb.h5"] and _listing(folder) == []


# ------------------------------------------------------------------------------------------------
# 6. damaged files


def _flip(path, offset, mask=0x10):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ mask]))


@pytest.mark.parametrize("name", ["jet", "jet_image"])  # uncompressed and lzf-compressed
def test_h5_flipped_data_bytes_fail_their_checksum(tmp_path, name):
    import h5py

    path = tmp_path / "tt.h5"
    ev.write(path, ev.generate("ttbar", 1000, seed=1, with_images=True))
    with h5py.File(path, "r") as f:
        assert all(f[k].fletcher32 for k in f)
        chunk = f[name].id.get_chunk_info(0)
    _flip(path, chunk.byte_offset + chunk.size // 2)
    with pytest.raises(EventFileError, match=re.escape(f"{str(path)!r} is corrupt: dataset {name!r}, events 0..")):
        ev.read(path)
    assert ev.read(path, fields=["met"])["met"].shape == (1000, 2)  # the other datasets are fine


def test_h5_bad_metadata_and_shapes(tmp_path):
    import h5py

    path = tmp_path / "zb.h5"
    ev.write(path, ev.generate("zerobias", 100, seed=1))
    with h5py.File(path, "a") as f:
        f.attrs["metadata"] = f.attrs["metadata"].replace('"process"', '"prosess"')
    with pytest.raises(EventFileError, match=re.escape(f"{str(path)!r} is corrupt: its metadata fails its checksum")):
        ev.info(path)
    with h5py.File(path, "a") as f:
        f.attrs["metadata"] = '{"format": "l1emu-events", '
        del f.attrs[ev.io.META_CRC_KEY]
    with pytest.raises(EventFileError, match=re.escape(f"{str(path)!r} has corrupt metadata (not valid JSON")):
        ev.info(path)
    ev.write(path, ev.generate("zerobias", 100, seed=1), overwrite=True)
    with h5py.File(path, "a") as f:
        del f["jet"]
        f["jet"] = np.zeros((100, 3, 3), np.float32)
    with pytest.raises(EventFileError, match=re.escape(
            f"{str(path)!r}: dataset 'jet' has shape (100, 3, 3) and dtype float32; expected (n_events, 10, 3) float32")):
        ev.info(path)
    with pytest.raises(EventFileError, match="dataset 'jet' has shape"):
        next(ev.iter_chunks(path))


def test_parquet_flipped_page_and_bad_metadata(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "tt.parquet"
    ev.write(path, ev.generate("ttbar", 1000, seed=1), compression=None)
    col = pq.ParquetFile(path).metadata.row_group(0).column(6)  # 'jet'
    assert col.path_in_schema.startswith("jet")
    _flip(path, col.data_page_offset + col.total_compressed_size // 2)
    with pytest.raises(EventFileError, match=re.escape(f"{str(path)!r} is corrupt: dataset 'jet', events 0..")):
        ev.read(path)
    table = pq.read_table(tmp_path / "tt.parquet", columns=["met"])  # (no l1emu checks)
    assert table.num_rows == 1000

    ev.write(path, ev.generate("ttbar", 100, seed=1), overwrite=True)
    table = pq.read_table(path)
    for meta, message in [({ev.io.META_KEY: "{bad json"}, "has corrupt metadata (not valid JSON"),
                          ({ev.io.META_KEY: pq.ParquetFile(path).metadata.metadata[b"l1emu.events"],
                            ev.io.META_CRC_KEY: "00000000"}, "its metadata fails its checksum")]:
        bad = tmp_path / "bad.parquet"
        pq.write_table(table.replace_schema_metadata(meta), bad)
        with pytest.raises(EventFileError, match=re.escape(message)):
            ev.info(bad)
    good_meta = pq.ParquetFile(path).metadata.metadata
    jet = pa.FixedSizeListArray.from_arrays(pa.array(np.zeros(900, np.float32)), 9)
    wrong = table.set_column(table.schema.get_field_index("jet"), "jet", jet)
    pq.write_table(wrong.replace_schema_metadata({k: v for k, v in good_meta.items() if k.startswith(b"l1emu")}), bad, )
    with pytest.raises(EventFileError, match=re.escape(f"{str(bad)!r}: column 'jet' has type fixed_size_list<") + r"\w+: float>\[9\]; expected"):
        ev.info(bad)


@pytest.mark.parametrize("ext", ["h5", "parquet"])
def test_flipped_bits_never_read_silently(tmp_path, ext):
    """A bit flipped anywhere (every 101st byte) either is harmless (unused bytes) or raises EventFileError."""
    good = tmp_path / f"good.{ext}"
    ev.write(good, ev.generate("ttbar", 100, seed=1, with_images=True))
    ref, ref_sources = ev.read(good), ev.info(good)["sources"]
    data = good.read_bytes()
    bad = tmp_path / f"bad.{ext}"
    outcomes = {"error": 0, "harmless": 0}
    for pos in range(0, len(data), 101):
        flipped = bytearray(data)
        flipped[pos] ^= 0x10
        bad.write_bytes(flipped)
        try:
            back, sources = ev.read(bad), ev.info(bad)["sources"]
        except EventFileError:
            outcomes["error"] += 1
            continue
        assert sources == ref_sources and set(back) == set(ref), pos
        assert all(np.array_equal(back[k], ref[k]) for k in ref), f"byte {pos} flipped: read back wrong data"
        outcomes["harmless"] += 1
    assert outcomes["error"] > outcomes["harmless"]


# ------------------------------------------------------------------------------------------------
# 7. file size follows the stream


@pytest.mark.parametrize("ext", ["h5", "parquet"])
def test_one_event_small_file(tmp_path, ext):
    path = tmp_path / f"one.{ext}"
    ev.write(path, ev.generate("ttbar", 1, seed=1, with_constituents=True, with_images=True))
    assert os.path.getsize(path) < 100_000  # was 4.5 MB of preallocated 1 MB chunks
    assert ev.read(path)["jet_image"].shape == (1, 40, 40)
    if ext == "h5":
        import h5py

        with h5py.File(path, "r") as f:
            assert {f[k].chunks[0] for k in f} == {1}
        big = tmp_path / "big.h5"
        ev.write(big, ev.generate("zerobias", 100_000, seed=1))
        with h5py.File(big, "r") as f:
            assert f["jet"].chunks[0] == (1 << 20) // (10 * 3 * 4) and f["event"].chunks[0] == 65536  # ~1 MB


# ------------------------------------------------------------------------------------------------
# 8. format and extension


def test_format_extension_mismatch_refused(tmp_path):
    from click.testing import CliRunner

    from l1emu.cli import main

    target = str(tmp_path / "a.h5")
    with pytest.raises(EventFileError, match=re.escape(f"{target!r}: format 'parquet' does not match its extension '.h5'")):
        ev.write(target, ev.generate("zerobias", 10, seed=1), format="parquet")
    res = CliRunner().invoke(main, ["generate", "-p", "qcd", "-n", "10", "--format", "parquet", "-o", target])
    assert res.exit_code == 2 and res.output.strip().startswith(f"Error: {target!r}: format 'parquet' does not match")
    with pytest.raises(EventFileError, match="format 'h5' does not match its extension '.parquet'"):
        ev.write(tmp_path / "b.parquet", ev.generate("zerobias", 10, seed=1), format="h5")
    assert _listing(tmp_path) == []
    ev.write(tmp_path / "c.events", ev.generate("zerobias", 10, seed=1), format="parquet")  # no known extension
    assert ev.detect_format(tmp_path / "c.events") == "parquet"


# ------------------------------------------------------------------------------------------------
# 9. duplicated inputs


def test_duplicated_inputs_refused(tmp_path):
    a, b, m = tmp_path / "a.h5", tmp_path / "b.h5", tmp_path / "m.h5"
    ev.write(a, ev.generate("ttbar", 100, seed=2))
    ev.write(b, ev.generate("ttbar", 300, seed=2))  # a is a prefix of b: the same events
    with pytest.raises(EventFileError, match=re.escape(f"merge: input {str(a)!r} is given twice; pass allow_duplicates=True")):
        ev.merge([a, a], m)
    with pytest.raises(EventFileError, match=re.escape(
            f"merge: process 'ttbar' with seed 2 is in both {str(a)!r} and {str(b)!r}: the same events would "
            "appear twice; pass allow_duplicates=True")):
        ev.merge([a, b], m)
    with pytest.raises(EventFileError, match=re.escape(
            f"append: process 'ttbar' with seed 2 is in both {str(a)!r} and the appended events")):
        ev.append(a, ev.generate("ttbar", 50, seed=2))
    assert _listing(tmp_path) == ["a.h5", "b.h5"] and ev.info(a)["n_events"] == 100
    assert ev.merge([a, a], m, allow_duplicates=True)["counts"] == {"ttbar": 200}
    assert ev.append(a, ev.generate("ttbar", 50, seed=2), allow_duplicates=True)["n_events"] == 150
    ev.append(a, ev.generate("ttbar", 50, seed=3))  # another seed: fine
    ev.append(a, ev.generate("qcd", 50, seed=2))  # another process: fine
    assert [(s["process"], s["seed"]) for s in ev.info(a)["sources"]] == [
        ("ttbar", 2), ("ttbar", 2), ("ttbar", 3), ("qcd", 2)]


# ------------------------------------------------------------------------------------------------
# 10. the zero-bias rate table of docs/events.md uses >= (as uGT seeds do)


def test_docs_rate_table_uses_ge():
    text = open(os.path.join(os.path.dirname(__file__), "..", "docs", "events.md")).read()
    section = text[text.index("**Zero-bias rates**"):]
    assert ">=" in section.splitlines()[0]
    rows = {"leading jet pt": lambda c: c["jet"][:, 0, 0], "leading e/gamma pt": lambda c: c["egamma"][:, 0, 0],
            "leading muon pt": lambda c: c["muon"][:, 0, 0], "MET": lambda c: c["met"][:, 0],
            "HT (sum of jet pt)": lambda c: c["jet"][:, :, 0].sum(1)}
    n = 200_000
    chunk = ev.generate_all("zerobias", n, seed=1)
    scale = {"MHz": 1e6, "kHz": 1e3}
    checked = 0
    for name, value in rows.items():
        line = next(ln for ln in section.splitlines() if ln.startswith(f"| {name} |"))
        for thr, rate, unit in re.findall(r"(\d+): ([\d.]+) (MHz|kHz)", line):
            p = float(rate) * scale[unit] / (2544 * 11245.6)
            k = np.count_nonzero(value(chunk) >= float(thr))
            sigma = np.sqrt(n * p * (1 - p))
            if n * p > 200:  # enough events in this 200k sample to tell >= from >
                assert abs(k - n * p) < 4 * sigma + 0.03 * n * p, (name, thr, k / n, p)
                checked += 1
    assert checked >= 13
