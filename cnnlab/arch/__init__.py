"""Architecture analysis: shapes, receptive fields, parameters, cost and inverse design.

>>> t = arch_table("conv 11x11/4 96", "3x227x227")
>>> t["layers"][0]["output_shape"], t["layers"][0]["macs"]
([96, 55, 55], 105415200)

Nothing here imports torch; :func:`analyze` (a PyTorch module) imports it when called.
"""

from __future__ import annotations

import functools

from cnnlab.arch import table as _table
from cnnlab.arch.inverse import fewest_layers, solve_layer
from cnnlab.arch.render import ArchTable, render_arch, render_solution
from cnnlab.arch.spec import Layer, load_spec, parse_input_shape, parse_spec

__all__ = ["arch_table", "render_arch", "render_solution", "analyze", "analyze_torchvision",
           "parse_spec", "load_spec", "parse_input_shape", "Layer", "solve_layer", "fewest_layers"]


@functools.wraps(_table.arch_table)
def arch_table(*args, **kwargs) -> dict:
    # the table as a dict that also shows itself as a table in a notebook (ArchTable)
    return ArchTable(_table.arch_table(*args, **kwargs))


def analyze(module, input_shape, **options) -> dict:
    """The §3 table of a ``torch.nn.Module`` (see :func:`cnnlab.arch.torch_analyze.analyze`)."""
    from cnnlab.arch.torch_analyze import analyze as _analyze

    return ArchTable(_analyze(module, input_shape, **options))


def analyze_torchvision(name: str, input_shape=None, **options) -> dict:
    """The §3 table of a torchvision model built without weights."""
    from cnnlab.arch.torch_analyze import analyze_torchvision as _analyze_tv

    return ArchTable(_analyze_tv(name, input_shape, **options))
