"""Reading tensors and flags from the command line's text: kept in :mod:`cnnlab.api.inputs`
(the Python API and the CLI read them alike)."""

from cnnlab.api.inputs import *  # noqa: F401,F403
from cnnlab.api.inputs import __all__  # noqa: F401
