"""``explain_run``: every explanation asked for, of one run folder, as PNG files and a page.

The math lives in the other modules of :mod:`cnnlab.explain`; this one loads the run
(:mod:`~cnnlab.explain.context`), checks every part's work bound
(:mod:`~cnnlab.explain.bounds`), runs the parts (:mod:`~cnnlab.explain.parts`) and writes
``explain.html``, the document of :mod:`~cnnlab.explain.document`. It returns a
JSON-ready summary.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from cnnlab.errors import UsageError, check_seed
from cnnlab.explain.config import PARTS, ExplainConfig
from cnnlab.explain.bounds import check_parts
from cnnlab.explain.context import RunContext
from cnnlab.explain.document import report_blocks
from cnnlab.explain.objectives import MAX_OBJECTIVES, parse_objectives, resolve_class
from cnnlab.explain.parts import PART_RUNNERS
from cnnlab.report import write_page
from cnnlab.storage import RunFolder

__all__ = ["PARTS", "ExplainConfig", "Explanation", "explain_run", "run_explanation", "parse_what",
           "resolve_class", "parse_objectives", "default_parts", "MAX_OBJECTIVES"]


def parse_what(text: str | list[str]) -> list[str]:
    """Parts from "all" or a comma-separated list of PARTS (order kept, duplicates dropped)."""
    items = text if isinstance(text, list) else text.split(",")
    parts: list[str] = []
    for item in (i.strip() for i in items):
        if item == "all":
            parts.append("all")
        elif item not in PARTS:
            raise UsageError(f"--what: unknown part {item!r}; choose from all, {', '.join(PARTS)}")
        elif item not in parts:
            parts.append(item)
    if not parts:
        raise UsageError("--what is empty; choose from all, " + ", ".join(PARTS))
    return parts


def default_parts(model) -> list[str]:
    """What "all" means for this model: the parts that apply to it."""
    from cnnlab.explain.coefficients import is_linear_model
    from cnnlab.explain.feature_maps import conv_layer_names

    if conv_layer_names(model):
        return ["filters", "maps", "gradcam", "maximize", "shift"]
    if is_linear_model(model):
        return ["coef", "maximize", "shift"]
    return ["maximize", "shift"]


def _test_accuracy(run_dir: Path, notes: list[str]) -> float | None:
    """The test accuracy ``cnnlab train`` wrote to summary.json (None for an unfinished run).

    The file's recorded hash is checked: a changed summary is refused, not shown.
    """
    folder = RunFolder(run_dir)
    if not folder.exists("summary.json"):
        return None
    value = folder.read_json("summary.json", notes).get("test_accuracy")
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass
class Explanation:
    """What an explanation gives: its JSON-ready summary and the run's class names.

    summary: ``{"run_dir", "model", "out", "html", "parts": [...], <part>: {...}}``, each
    part's dict holding its numbers and the path of its picture(s).
    """

    summary: dict
    classes: list[str]

    def blocks(self) -> list:
        """The report as a document (explain.html, a result's Markdown, LaTeX and notebook view)."""
        return report_blocks(self.summary, self.classes)


def run_explanation(run_dir: str | Path, config: ExplainConfig | None = None, *,
                    log: Callable[[str], None] | None = None) -> Explanation:
    """Compute and draw the parts ``config.what`` asks for, then write ``explain.html``."""
    from cnnlab.train.device import pick_device, torch_state
    from cnnlab.train.threads import choose_threads

    config = config or ExplainConfig()
    check_seed(config.seed)
    if config.count < 1:  # the flag's lower bound, for cnnlab.explain(...) too
        raise UsageError(f"--count must be at least 1, got {config.count}")
    what = parse_what(config.what)
    device = pick_device(config.device)  # refuses cuda without a GPU before any work
    # threads from the load, as training does: 2 spinning OpenMP threads ran 4.2x slower
    # than 1 when the cores were shared (docs/training.md, "Speed")
    threads, why = choose_threads()
    ctx = RunContext(run_dir, config)
    parts = default_parts(ctx.model) if "all" in what else []
    parts += [p for p in what if p != "all" and p not in parts]
    if ctx.out.exists() and not ctx.out.is_dir():
        raise UsageError(f"--out {ctx.out} is a file, not a folder")
    notes = ctx.run.notes
    accuracy = _test_accuracy(ctx.run.run_dir, notes)
    summary: dict = {"run_dir": str(ctx.run.run_dir), "model": ctx.run.meta["model"],
                     "data": ctx.run.config.data, "out": str(ctx.out), "parts": parts,
                     "input": list(ctx.shape), "test_accuracy": accuracy}
    if notes:
        summary["notes"] = notes  # files of an older run that could not be verified
    check_parts(ctx, parts)
    if log:
        log(f"cpu: {threads} thread(s) ({why})")
    explanation = Explanation(summary, ctx.classes)
    with RunFolder(ctx.out).lock("explain folder"), torch_state(threads, device):  # one writer per folder (docs/runs.md)
        seconds = summary["seconds"] = {}  # wall time of each part
        for part in parts:
            if log:
                log(f"{part}...")
            tic = time.perf_counter()
            summary[part] = PART_RUNNERS[part](ctx)
            seconds[part] = round(time.perf_counter() - tic, 3)
        summary["html"] = str(ctx.out / "explain.html")
        write_page(summary["html"], explanation.blocks())
    return explanation


def explain_run(run_dir: str | Path, config: ExplainConfig | None = None, *,
                log: Callable[[str], None] | None = None) -> dict:
    """Compute and draw the parts ``config.what`` asks for, then write ``explain.html``.

    Returns ``{"run_dir", "model", "out", "html", "parts": [...], <part>: {...}}`` where
    each part's dict holds its numbers and the path of its picture(s).
    """
    return run_explanation(run_dir, config, log=log).summary
