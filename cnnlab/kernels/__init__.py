"""Kernel lab: named kernels, separability, probe responses, filtering photos, cost, invariance.

The arithmetic core (``named``, ``separable``, ``probes``, ``describe``) needs only numpy;
``apply``, ``cost`` and ``invariance`` import scipy/scikit-image/matplotlib inside their
functions.
"""

from cnnlab.kernels.describe import describe_kernel
from cnnlab.kernels.named import get_kernel, list_kernels, resolve_kernel
from cnnlab.kernels.probes import PROBE_NAMES, best_probe, probe_patterns, probe_responses
from cnnlab.kernels.separable import rank, separable

__all__ = ["get_kernel", "list_kernels", "resolve_kernel", "rank", "separable",
           "describe_kernel", "probe_responses", "probe_patterns", "best_probe", "PROBE_NAMES"]
