"""``python -m vitcourse.figures build [--lang ko] [--out DIR] [NAME ...]``: write the lecture figures.

``--lang en`` (default) writes ``notebooks/figures/NAME.svg``; ``--lang ko`` writes the Korean figures,
``notebooks/figures/ko/NAME.svg`` (labels from ``vitcourse/figures/labels_ko.json``). ``check`` rebuilds them
in memory and lists committed files that differ (exit status 1), so a change to a figure function is never
left uncommitted. ``labels`` prints every label that needs a Korean entry and has none.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import LANGUAGES, all_figures, build, labels, render
from .korean import load_catalogue, needs_entry

DEFAULT_OUT = Path(__file__).resolve().parent.parent.parent / "notebooks" / "figures"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vitcourse.figures", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="write every figure as OUT/NN_name.svg")
    b.add_argument("--out", type=Path, default=None, help=f"output folder (default: {DEFAULT_OUT}, /ko for Korean)")
    b.add_argument("--lang", choices=LANGUAGES, default="en")
    b.add_argument("names", nargs="*", help="only these figures (default: all)")
    c = sub.add_parser("check", help="compare the committed figures with a fresh build")
    c.add_argument("--out", type=Path, default=None)
    c.add_argument("--lang", choices=LANGUAGES, default="en")
    sub.add_parser("list", help="print the figure names")
    sub.add_parser("labels", help="print (as JSON) the labels that need a Korean entry and have none")
    args = parser.parse_args(argv)
    if args.cmd == "labels":
        catalogue = load_catalogue()
        todo = {k: v for k, v in labels().items() if needs_entry(k) and k not in catalogue}
        print(json.dumps(todo, ensure_ascii=False, indent=1))
        return 1 if todo else 0
    if getattr(args, "out", None) is None:
        args.out = DEFAULT_OUT / "ko" if args.lang == "ko" else DEFAULT_OUT
    if args.cmd == "build":
        paths = build(args.out, names=args.names or None, lang=args.lang)
        print(f"wrote {len(paths)} figures to {args.out}")
        return 0
    if args.cmd == "list":
        print("\n".join(all_figures()))
        return 0
    stale = [
        name
        for name in all_figures()
        if not (args.out / f"{name}.svg").is_file()
        or (args.out / f"{name}.svg").read_text(encoding="utf-8") != render(name, args.lang)
    ]
    if stale:
        print(
            f"{len(stale)} figure(s) missing or out of date in {args.out}: {stale}\n"
            f"run `python -m vitcourse.figures build --lang {args.lang}` and commit {args.out}",
            file=sys.stderr,
        )
        return 1
    print(f"all figures in {args.out} are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
