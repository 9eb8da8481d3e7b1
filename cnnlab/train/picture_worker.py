"""The process that draws a run's pictures (:mod:`cnnlab.train.pictures`): ``python -m
cnnlab.train.picture_worker``.

It imports matplotlib first (while the run trains), then reads ``(name, args)`` jobs as
pickles from stdin and draws ``DRAWERS[name](*args)`` until a ``None`` job (or the end of
stdin). Exit status 0:
every picture written; 1: the first failure is written to stdout as a pickled
``(text, exception)`` and nothing more is drawn. No torch here.
"""

from __future__ import annotations

import pickle
import sys
from typing import Callable

from cnnlab.train import plots

__all__ = ["DRAWERS", "main"]

DRAWERS: dict[str, Callable[..., None]] = {
    "learning_curves": plots.plot_learning_curves,  # (history, path, best_epoch)
    "confusion": plots.plot_confusion,  # (confusion (K, K), classes, path)
}


def main() -> int:
    """Draw the jobs read from stdin; returns the exit status."""
    from cnnlab.report.figures import new_figure

    new_figure(1, 1)  # matplotlib and its Agg canvas imported now, before the first job
    jobs = sys.stdin.buffer
    while True:
        try:
            job = pickle.load(jobs)  # written by the run that started this process
        except EOFError:
            return 0
        if job is None:  # the run's "no more jobs" (its pipe may stay open in forked children)
            return 0
        name, args = job
        try:
            DRAWERS[name](*args)
        except BaseException as exc:  # noqa: BLE001 - every failure goes to the run
            text = f"drawing the {name} picture failed: {type(exc).__name__}: {exc}"
            try:
                report = pickle.dumps((text, exc))
            except Exception:  # noqa: BLE001 - an exception that does not pickle: its text
                report = pickle.dumps((text, None))
            sys.stdout.buffer.write(report)
            sys.stdout.buffer.flush()
            return 1


if __name__ == "__main__":
    sys.exit(main())
