"""Exact CNN arithmetic in NumPy: padding, convolution, pooling, activations, sizes.

Pure functions on channel-first tensors without a batch axis (docs/conventions.md). Float tensors
are float64; exact tensors are object arrays of Fractions. No torch here.
"""

from cnnlab.ops.activations import (ACTIVATIONS, IRRATIONAL, get_activation, leaky_relu, relu,
                                    sigmoid, softmax, softmax_jacobian, tanh)
from cnnlab.ops.conv import as_filters, conv2d, conv_transpose2d, flip
from cnnlab.ops.padding import PADDING_MODES, pad, resolve_padding
from cnnlab.ops.pool import avg_pool2d, global_avg_pool, global_max_pool, max_pool2d
from cnnlab.ops.sizes import (conv_output_size, effective_kernel, full_padding, pool_output_size,
                              same_padding, solve_kernel, solve_padding, solve_stride,
                              transposed_output_size)
from cnnlab.ops.tensor import as_tensor, is_exact, to_exact, to_float, to_fraction

__all__ = [
    "ACTIVATIONS", "IRRATIONAL", "PADDING_MODES",
    "as_tensor", "is_exact", "to_exact", "to_float", "to_fraction",
    "pad", "resolve_padding",
    "conv2d", "conv_transpose2d", "flip", "as_filters",
    "max_pool2d", "avg_pool2d", "global_avg_pool", "global_max_pool",
    "relu", "sigmoid", "tanh", "leaky_relu", "softmax", "softmax_jacobian", "get_activation",
    "conv_output_size", "pool_output_size", "effective_kernel", "same_padding", "full_padding",
    "transposed_output_size", "solve_padding", "solve_kernel", "solve_stride",
]
