"""Command line: ``python -m paperlib COMMAND``.

``reproduce`` (every notebook of a profile, with papermill), ``download`` (fetch and verify
pretrained weights and directions into ``$PAPERLIB_HOME``), ``doctor`` (versions, which assets
are ready, whether the ``paper`` profile can run), ``train`` (the differential classifier) and
``evaluate`` (Tables 1-3 and the synthetic localization table).
"""

from __future__ import annotations

import argparse
import sys

from . import __version__

def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return int(text)


def _download(args: argparse.Namespace) -> int:
    from . import assets
    from .download import AssetError, download, downloadable

    if args.all and args.names:
        args.parser.error("give asset names or --all, not both")
    names = downloadable() if args.all else args.names
    if not names:
        args.parser.error(f"name one or more assets or use --all; known: {', '.join(assets.ASSETS)}")
    unknown = [n for n in names if n not in assets.ASSETS]
    if unknown:
        args.parser.error(f"unknown asset {', '.join(map(repr, unknown))}; known: {', '.join(assets.ASSETS)}")
    if args.from_file and len(names) != 1:
        args.parser.error("--from takes exactly one asset name")
    failed = 0
    for name in names:
        try:
            path = download(name, quiet=args.quiet, retries=args.retries, from_file=args.from_file)
        except (AssetError, FileNotFoundError) as err:
            failed += 1
            print(f"{name}: FAILED: {err}", file=sys.stderr)
            continue
        rec = assets.read_records().get(assets.resolve(name).name, {})
        sha = rec.get("sha256", "?")
        inside = f" (the generator is read from {path.name})" if assets.get(name).alias_of else ""
        print(f"{name}: ok {path}{inside}; verified: {rec.get('verified', '?')}; sha256 {sha}")
        if not (assets.resolve(name).sha256):
            print(f"{name}: no full sha256 is published; recorded {sha} in {assets.home() / assets.RECORDS}")
    if args.all:
        print(f"celeba-hq is not downloaded: set {assets.CELEBA_ENV} to your CelebA-HQ folder "
              "(check with `python -m paperlib doctor`)")
    return 1 if failed else 0


def _doctor(args: argparse.Namespace) -> int:
    from .assets import doctor

    ready, lines = doctor(verify=args.verify, celeba_root=args.celeba_hq)
    print(f"paperlib {__version__}")
    print("\n".join(lines))
    return 1 if (args.strict and not ready) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paperlib", description="Diff-CAM++ companion.")
    parser.add_argument("--version", action="version", version=f"paperlib {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    from .reproduce import add_reproduce_cli
    add_reproduce_cli(sub)
    dl = sub.add_parser("download", help="fetch and verify pretrained weights / directions into $PAPERLIB_HOME",
                        description="Fetch, verify (HTML page, size, sha256, strict load) and cache assets. "
                                    "A file already in the cache is only verified. PAPERLIB_OFFLINE=1 forbids "
                                    "the network; PAPERLIB_MIRROR=URL fetches URL/<file name> instead.")
    dl.add_argument("names", nargs="*", metavar="NAME", help="asset names (see `python -m paperlib doctor`)")
    dl.add_argument("--all", action="store_true", help="every downloadable asset")
    dl.add_argument("--from", dest="from_file", metavar="FILE",
                    help="verify and copy a file you obtained yourself (e.g. in a browser) into the cache")
    dl.add_argument("--retries", type=_count, default=2, help="reconnections (with resume) per source (default 2)")
    dl.add_argument("--quiet", action="store_true", help="no progress bar")
    dl.set_defaults(func=_download, parser=dl)
    doc = sub.add_parser("doctor", help="versions, assets present and verified, can the paper profile run")
    doc.add_argument("--strict", action="store_true", help="exit 1 when the paper profile cannot run")
    doc.add_argument("--verify", action="store_true", help="re-hash and re-check every cached file (slow)")
    doc.add_argument("--celeba-hq", metavar="DIR", help="CelebA-HQ image folder (default $PAPERLIB_CELEBA_HQ)")
    doc.set_defaults(func=_doctor)
    from .train import add_train_cli  # torch-heavy imports stay out of `--help` for the others
    add_train_cli(sub)
    from .evaluate import add_evaluate_cli
    add_evaluate_cli(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
