"""Packaging that pyproject.toml cannot say by itself: the repository's ``examples/`` folder
ships inside the package as ``cnnlab/examples`` (``cnnlab examples list``, ``cnnlab solve
sheet1``; docs/cli.md), and its ``docs/*.md`` as ``cnnlab/docs`` (the pages ``cnnlab serve``
links to as ``/docs/NAME.md``; docs/serve.md), without moving or copying either folder.
Everything else is in pyproject.toml."""

from setuptools import find_namespace_packages, find_packages, setup

# every folder under examples/ is a data-only package, so that setuptools ships all its files
EXAMPLES = ["cnnlab.examples"] + [
    f"cnnlab.examples.{name}" for name in find_namespace_packages(where="examples", exclude=["*__pycache__*"])
]

setup(
    packages=find_packages(include=["cnnlab", "cnnlab.*"]) + EXAMPLES + ["cnnlab.docs"],
    package_dir={"cnnlab.examples": "examples", "cnnlab.docs": "docs"},
    # cnnlab/serve/static: the pages of `cnnlab serve` (HTML, CSS, JavaScript, icon)
    # cnnlab/docs: the Markdown pages only (not docs/img, its screenshots and their script)
    package_data={"cnnlab": ["py.typed"], "cnnlab.serve": ["static/*"], "cnnlab.docs": ["*.md"],
                  **{name: ["*"] for name in EXAMPLES}},
)
