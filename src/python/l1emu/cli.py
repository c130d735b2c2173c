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
