"""SHA-256 sums of the IDX datasets cnnlab can fetch, and how a file is checked.

The sums are those of the *uncompressed* files (BRIEF.md), so a ``.gz`` copy is checked
by hashing what it decompresses to.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

__all__ = ["IDX_FILES", "SHA256", "sha256_file", "file_problem"]

# The four files of an MNIST-style dataset, in the order train images/labels, test images/labels.
IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

SHA256: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}

_CHUNK = 1 << 20  # bytes read per step while hashing


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's content; a ``.gz`` file is hashed decompressed.

    Raises OSError (or EOFError / gzip.BadGzipFile for a broken ``.gz``).

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x")
    >>> _ = open(p, "wb").write(b"abc")
    >>> sha256_file(p)[:16]
    'ba7816bf8f01cfea'
    """
    path = Path(path)
    digest = hashlib.sha256()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_problem(path: str | Path, expected: str) -> str | None:
    """None when ``path`` hashes to ``expected``; else one line saying what is wrong."""
    try:
        got = sha256_file(path)
    except FileNotFoundError:
        return f"{path} is missing"
    except (OSError, EOFError) as exc:  # unreadable, truncated or bad gzip stream
        return f"{path} is unreadable or truncated ({exc})"
    if got != expected:
        return f"{path} is corrupt: sha256 {got[:12]}… but expected {expected[:12]}…"
    return None
