"""cnnlab: exact CNN arithmetic with worked steps, and practical CNN training.

The arithmetic core (``cnnlab.ops``, ``cnnlab.steps``, ``cnnlab.problems``) needs only
NumPy and PyYAML; torch is imported only by the commands that train or inspect modules.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
