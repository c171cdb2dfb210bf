"""Command line: ``python -m paperlib COMMAND``.

Commands that exist now: ``reproduce`` (placeholder until the notebooks land). Later issues
add ``download``, ``doctor``, ``train`` and ``evaluate``.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__

PROFILES = ("synthetic", "paper")


def _reproduce(args: argparse.Namespace) -> int:
    print(f"paperlib reproduce --profile {args.profile}: nothing to reproduce yet "
          "(the figure and table notebooks are not written yet).")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paperlib", description="Diff-CAM++ companion.")
    parser.add_argument("--version", action="version", version=f"paperlib {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="run every notebook of a profile end to end")
    rep.add_argument("--profile", choices=PROFILES, default="synthetic")
    rep.set_defaults(func=_reproduce)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
