"""``python -m vitcourse.figures build [--out notebooks/figures] [NAME ...]``: write the lecture figures.

``python -m vitcourse.figures check`` rebuilds them in memory and lists committed files that differ
(exit status 1), so a change to a figure function is never left uncommitted.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import all_figures, build

DEFAULT_OUT = Path(__file__).resolve().parent.parent.parent / "notebooks" / "figures"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vitcourse.figures", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="write every figure as OUT/NN_name.svg")
    b.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    b.add_argument("names", nargs="*", help="only these figures (default: all)")
    c = sub.add_parser("check", help="compare the committed figures with a fresh build")
    c.add_argument("--out", type=Path, default=DEFAULT_OUT)
    sub.add_parser("list", help="print the figure names")
    args = parser.parse_args(argv)
    if args.cmd == "build":
        paths = build(args.out, names=args.names or None)
        print(f"wrote {len(paths)} figures to {args.out}")
        return 0
    if args.cmd == "list":
        print("\n".join(all_figures()))
        return 0
    stale = [name for name, fn in all_figures().items()
             if not (args.out / f"{name}.svg").is_file()
             or (args.out / f"{name}.svg").read_text(encoding="utf-8") != fn()]
    if stale:
        print(f"{len(stale)} figure(s) missing or out of date in {args.out}: {stale}\n"
              "run `python -m vitcourse.figures build` and commit notebooks/figures/", file=sys.stderr)
        return 1
    print(f"all figures in {args.out} are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
