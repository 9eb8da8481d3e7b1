"""Kernel lab: named kernels, separability, probe responses, filtering photos, cost, invariance.

The arithmetic core (``named``, ``separable``, ``probes``, ``describe``) needs only numpy;
``apply``, ``cost`` and ``invariance`` import scipy/scikit-image/matplotlib inside their
functions.
"""

from cnnlab.kernels.named import get_kernel, list_kernels, resolve_kernel
from cnnlab.kernels.separable import rank, separable

__all__ = ["get_kernel", "list_kernels", "resolve_kernel", "rank", "separable"]
