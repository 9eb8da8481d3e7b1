"""``python -m cnnlab``: the ``cnnlab`` command (so that ``torchrun -m cnnlab train ...`` works)."""

import sys

from cnnlab.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
