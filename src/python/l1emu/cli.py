"""The ``l1emu`` command line (click + rich progress bars)."""

import sys

try:
    import click
except ImportError:  # the core needs numpy only; the CLI needs the 'cli' extra
    sys.exit("the l1emu command needs click and rich: pip install 'l1emu[cli]'")


@click.group()
@click.version_option(package_name="l1emu")
def main():
    """l1emu: bit-exact emulation of Level-1 trigger firmware, menus and rates."""


@main.command()
@click.option("--events", default=1_000_000, show_default=True, help="Events to replay.")
@click.option("--csim-events", type=int, default=None, help="Events also run through hls4ml csim (default: all).")
def demo(events, csim_events):
    """QKeras jet tagger -> hls4ml -> l1emu: bit-exact agreement and throughput vs C simulation."""
    from . import demo as demo_mod

    result = demo_mod.run(n_events=events, csim_events=csim_events, echo=click.echo)
    if result["mismatches"]:
        raise SystemExit(1)


@main.command()
@click.option("--process", "-p", required=True, help="Process to simulate (see docs/events.md), e.g. zerobias, ttbar.")
@click.option("--events", "-n", "n_events", type=int, required=True, help="Number of bunch crossings.")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False), help="Output .h5 or .parquet file.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed (same seed -> identical file).")
@click.option("--chunk-size", type=int, default=None, help="Events per generated chunk [default: 16384].")
@click.option("--format", "fmt", type=click.Choice(["h5", "parquet"]), default=None,
              help="File format [default: from the extension].")
@click.option("--constituents/--no-constituents", default=False, show_default=True,
              help="Also store jet constituents, multiplicities and the 16 jet features.")
@click.option("--images/--no-images", default=False, show_default=True,
              help="Also store the 18x14 calorimeter region image and the 40x40 leading-jet image.")
@click.option("--pileup", type=float, default=None, help="Mean number of pileup interactions [default: 60].")
@click.option("--workers", type=int, default=1, show_default=True, help="Generator processes.")
@click.option("--overwrite", is_flag=True, help="Replace the output file if it exists.")
def generate(process, n_events, output, seed, chunk_size, fmt, constituents, images, pileup, workers, overwrite):
    """Generate simulated L1 bunch crossings (fast parametric simulation) into an event file."""
    import os
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from . import events
    from .errors import EventFileError, L1emuError

    kwargs = dict(with_constituents=constituents, with_images=images, workers=workers)
    if chunk_size is not None:
        kwargs["chunk_size"] = chunk_size
    if pileup is not None:
        kwargs["pileup"] = pileup
    try:
        stream = events.generate(process, n_events, seed, **kwargs)
        if os.path.exists(output) and not overwrite:  # refuse before showing a progress bar
            raise EventFileError(f"{output!r} exists; pass --overwrite to replace it")
        columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
        start = time.perf_counter()
        with Progress(*columns, transient=False) as bar:
            task = bar.add_task(f"{process} -> {os.path.basename(output)}", total=n_events, rate="")

            def advance(n):
                done = bar.tasks[0].completed + n
                rate = done / max(time.perf_counter() - start, 1e-9)
                bar.update(task, advance=n, rate=f"{rate:,.0f} ev/s")

            meta = events.write(output, stream, format=fmt, overwrite=overwrite, progress=advance)
    except L1emuError as exc:
        raise click.ClickException(str(exc)) from None
    elapsed = time.perf_counter() - start
    size = os.path.getsize(output) / 1e6
    click.echo(f"wrote {meta['n_events']:,} {process} crossings (seed {seed}) to {output}: "
               f"{size:,.1f} MB, {meta['n_events'] / elapsed:,.0f} crossings/s")
