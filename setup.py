"""Packaging that pyproject.toml cannot say by itself: the repository's ``examples/`` folder
ships inside the package as ``cnnlab/examples`` (``cnnlab examples list``, ``cnnlab solve
sheet1``; docs/cli.md), without moving the folder. Everything else is in pyproject.toml."""

from setuptools import find_namespace_packages, find_packages, setup

# every folder under examples/ is a data-only package, so that setuptools ships all its files
EXAMPLES = ["cnnlab.examples"] + [
    f"cnnlab.examples.{name}" for name in find_namespace_packages(where="examples", exclude=["*__pycache__*"])
]

setup(
    packages=find_packages(include=["cnnlab", "cnnlab.*"]) + EXAMPLES,
    package_dir={"cnnlab.examples": "examples"},
    package_data={"cnnlab": ["py.typed"], **{name: ["*"] for name in EXAMPLES}},
)
