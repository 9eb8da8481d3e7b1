"""Reading tensors and flags from the command line's text: kept in :mod:`cnnlab.api.inputs`
(the Python API and the CLI read them alike)."""

from cnnlab.api.inputs import (FILE_SUFFIXES, MAX_DEPTH, MAX_WINDOW_PARAM, parse_int_pair, parse_literal,
                               parse_number, parse_padding, read_tensor)

__all__ = ["read_tensor", "parse_literal", "parse_number", "parse_int_pair", "parse_padding", "FILE_SUFFIXES",
           "MAX_DEPTH", "MAX_WINDOW_PARAM"]
