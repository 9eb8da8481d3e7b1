"""Storage of run folders: one lock, atomic hashed writes and verified reads (docs/runs.md).

:class:`RunFolder` is what train, evaluate, explain, compare, tune and serve read and
write a run folder through; its docstring states what survives a crash, a ``kill -9``
and a full disk. Below it: :mod:`cnnlab.storage.lock` (one writer per folder),
:mod:`cnnlab.storage.hashes` (``NAME.sha256`` sidecars) and :mod:`cnnlab.userfiles`
(safe reads, the one atomic writer). Importing this package imports neither torch nor
yaml; the methods that need them import them.
"""

from cnnlab.storage.hashes import IntegrityError, recovery_hint
from cnnlab.storage.lock import LOCK_NAME, folder_lock, lock_holders
from cnnlab.storage.run_folder import (MAX_TEXT_BYTES, RECORDED_FILES, RUN_FILES, RunFolder,
                                       default_run_dir)

__all__ = ["RunFolder", "default_run_dir", "folder_lock", "lock_holders", "IntegrityError",
           "recovery_hint", "LOCK_NAME", "RUN_FILES", "RECORDED_FILES", "MAX_TEXT_BYTES"]
