"""One way to derive the seed of a part of a run (an epoch, a rank, a trial) from its seed.

numpy's :class:`~numpy.random.SeedSequence` mixes the user's seed with the part's
position (its ``spawn_key``) through a hash designed for this: seeds of neighbouring
parts are unrelated, and parts of different kinds never share a seed (epoch 3 of a run
and trial 3 of a study draw differently). It replaces three hand-made formulas
(``seed * 1_000_003 + epoch`` and two like it), whose outputs for nearby inputs were
nearby numbers.
"""

from __future__ import annotations

import numpy as np

__all__ = ["derive_seed", "EPOCH", "RANK", "TRIAL"]

# the kind of part, first element of the spawn key (values are part of the results: fixed)
EPOCH, RANK, TRIAL = 1, 2, 3


def derive_seed(seed: int, kind: int, index: int, bits: int = 63) -> int:
    """The seed of part ``index`` of kind ``kind`` (``EPOCH``, ``RANK``, ``TRIAL``) of a run seeded ``seed``.

    Returns an integer in ``0 .. 2**bits - 1`` (63 bits fit ``torch.manual_seed``; optuna's
    samplers take 32).

    >>> derive_seed(0, EPOCH, 1) == derive_seed(0, EPOCH, 1)
    True
    >>> len({derive_seed(0, EPOCH, 1), derive_seed(0, EPOCH, 2), derive_seed(0, TRIAL, 1),
    ...      derive_seed(1, EPOCH, 1)})
    4
    >>> 0 <= derive_seed(-5, RANK, 7, bits=32) < 2**32
    True
    """
    entropy = int(seed) % 2**128  # SeedSequence takes non-negative integers
    words = np.random.SeedSequence(entropy, spawn_key=(kind, int(index))).generate_state(2, np.uint32)
    return (int(words[0]) << 32 | int(words[1])) % 2**bits
