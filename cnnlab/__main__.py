"""``python -m cnnlab``: the ``cnnlab`` command (so that ``torchrun -m cnnlab train ...`` works)."""

from cnnlab.cli.main import run

if __name__ == "__main__":
    run()
