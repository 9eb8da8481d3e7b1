"""``cnnlab.arch``: the architecture table of a layer spec or a torchvision model.

Wraps :func:`cnnlab.arch.arch_table` and :func:`cnnlab.arch.render_arch`; ``str(r)`` is
``cnnlab arch --format text``, ``r.to_json()`` is ``--format json``. The inverse questions
(``--solve``) stay on the command line for now.
"""

from __future__ import annotations

import json
import os
from typing import Any

from cnnlab.api import flags
from cnnlab.api.result import RenderedResult
from cnnlab.arch.input_shape import LAYOUTS
from cnnlab.arch.table import DTYPE_BYTES
from cnnlab.errors import UsageError

__all__ = ["arch", "spec_source", "DTYPES", "LAYOUTS"]

DTYPES = tuple(DTYPE_BYTES)  # owner: cnnlab.arch.table
_SPEC_SUFFIXES = (".yaml", ".yml", ".txt", ".json", ".spec", ".arch")
MAX_SPEC_DEPTH = 32  # nested YAML lists/mappings in a spec file (a spec needs 3)


class ArchResult(RenderedResult):
    """An architecture table; ``.table`` is the table dict; ``output("table")`` the rich table.

    Every format, HTML included (``_repr_html_``: real tables), is the doc writer's
    (:func:`cnnlab.arch.render.arch_blocks`)."""

    def output(self, fmt: str) -> str:
        return self.render(fmt)

    def render(self, fmt: str) -> str:
        return self._render_fn(fmt)


def arch(spec: Any = None, input: Any = None, torchvision: str | None = None, dtype: str = "fp32",
         steps: bool = False, layout: str = "chw", fc_compare: Any = None) -> ArchResult:
    """Shapes, receptive fields, parameters and cost layer by layer, as ``cnnlab arch``.

    Args:
        spec: layers as text ("conv 3x3 16 p1; relu; maxpool 2x2"), a list of layer lines,
            or a path to a file holding them.
        input: the input shape, "3x32x32" or [3, 32, 32].
        torchvision: a torchvision model name instead of a spec (imports torch).

    >>> arch("conv 3x3 8", "1x5x5").to_json()["layers"][0]["params"]
    80
    """
    from cnnlab.arch import arch_table, render_arch

    dtype = flags.choice("arch", "dtype", dtype, DTYPES)
    layout = flags.choice("arch", "layout", layout, LAYOUTS)
    steps = flags.flag("steps", steps)
    if isinstance(input, (list, tuple)):
        input = "x".join(flags.text_form("input", v) for v in input)
    elif input is not None:
        input = flags.text_form("input", input)
    if isinstance(spec, (list, tuple)):
        spec = "; ".join(str(s) for s in spec)
    fc = _fc_compare(fc_compare)
    if spec and torchvision:
        raise UsageError("give either a SPEC or --torchvision NAME, not both")
    if torchvision:
        import torch  # noqa: F401 - a plain install is refused here, before any work
        import torchvision as _tv  # noqa: F401

        from cnnlab.arch.torch_analyze import analyze_torchvision

        table = analyze_torchvision(torchvision, input, dtype=dtype, fc_compare=fc, steps=steps, layout=layout)
    elif spec:
        if not isinstance(spec, str):
            raise UsageError(f"spec must be text or a list of layer lines, got {type(spec).__name__}")
        table = arch_table(spec_source(spec), input, dtype=dtype, fc_compare=fc, steps=steps, layout=layout)
    else:
        raise UsageError("give a SPEC (e.g. 'conv 3x3 16; relu') or --torchvision NAME, or --solve (see --help)")
    r = ArchResult("arch", json.loads(render_arch(table, "json", steps=steps)),
                   lambda fmt: render_arch(table, fmt, steps=steps) + "\n")  # "table": rich, when installed
    r.table = table
    return r


def _fc_compare(value: Any):
    if value is None or value == "same":
        return value
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"--fc-compare takes a number of units, got {value!r}") from None
    if n < 1:
        raise UsageError(f"--fc-compare needs a positive number of units, got {n}")
    return n


def spec_source(spec: str) -> str:
    """The spec text: ``spec`` itself, or the text of the file it names (checked first).

    A spec of one word with a file suffix or a path separator names a file: a missing
    one is reported as missing (not as an unknown layer kind), a folder, device or pipe
    as what it is; the file is read as UTF-8 of at most 1 MB and its YAML nesting is
    checked before any recursive parser sees it.
    """
    from cnnlab.userfiles import read_text_file

    word = spec.strip()
    looks_like_path = not any(c.isspace() or c == ";" for c in word) and (
        word.lower().endswith(_SPEC_SUFFIXES) or os.sep in word)
    if not (looks_like_path or os.path.exists(word)) or "\n" in spec:
        return spec
    text = read_text_file(word, "spec file")
    _check_yaml_depth(text, word)
    return text


def _check_yaml_depth(text: str, source: str) -> None:
    """Refuse YAML nested deeper than MAX_SPEC_DEPTH, reading events (no recursion)."""
    import yaml

    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_SPEC_DEPTH:
                    raise UsageError(f"{source}: lists/mappings nested deeper than {MAX_SPEC_DEPTH} levels")
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return  # not YAML (the compact language) or invalid: the spec parser reports it
