"""Where each named kernel comes from, and how it compares with other libraries' kernels.

cnnlab's named kernels are integer templates applied by cross-correlation (no flip).
Other libraries scale or orient the same filters differently; each entry below says
which kernel of scikit-image or OpenCV matches, and by what factor, so that results can
be compared. The scikit-image relations are checked by ``tests/test_kernels_sources.py``
on images (interior pixels); docs/kernels.md tells the same in prose.

``scale`` is the factor k with ``cnnlab = k · reference`` for the filter ``reference``
(None when no library filter matches).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KernelSource", "SOURCES", "kernel_source"]


@dataclass(frozen=True)
class KernelSource:
    """The convention of one named kernel."""

    origin: str                     # where the kernel is from
    reference: str | None = None    # the matching filter of another library
    scale: float | None = None      # cnnlab kernel = scale · reference

    def line(self) -> str:
        """One line for ``kernel list`` / ``kernel describe``."""
        if self.reference is None:
            return self.origin
        factor = "the same as" if self.scale == 1 else f"{self.scale:g} x"
        return f"{self.origin}; {factor} {self.reference}"


SOURCES: dict[str, KernelSource] = {
    "identity": KernelSource("the identity (delta) kernel"),
    "sharpen": KernelSource("image editors' sharpen: identity + laplacian4"),
    "sobel_x": KernelSource("Sobel-Feldman 3x3, as OpenCV Sobel(dx=1, ksize=3)",
                            "scikit-image filters.sobel_v (normalised by 1/4)", 4),
    "sobel_y": KernelSource("Sobel-Feldman 3x3, as OpenCV Sobel(dy=1, ksize=3)",
                            "scikit-image filters.sobel_h (normalised by 1/4)", 4),
    "prewitt_x": KernelSource("Prewitt 3x3", "scikit-image filters.prewitt_v (normalised by 1/3)", 3),
    "prewitt_y": KernelSource("Prewitt 3x3", "scikit-image filters.prewitt_h (normalised by 1/3)", 3),
    "scharr_x": KernelSource("Scharr 3x3, as OpenCV Scharr(dx=1)",
                             "scikit-image filters.scharr_v (normalised by 1/16)", 16),
    "scharr_y": KernelSource("Scharr 3x3, as OpenCV Scharr(dy=1)",
                             "scikit-image filters.scharr_h (normalised by 1/16)", 16),
    "laplacian4": KernelSource("4-neighbour Laplacian with a positive centre (-nabla^2); "
                               "OpenCV Laplacian(ksize=1) is its negative",
                               "scikit-image filters.laplace(ksize=3)", 1),
    "laplacian8": KernelSource("8-neighbour Laplacian with a positive centre (-nabla^2, Gonzalez & Woods); "
                               "no scikit-image or OpenCV filter equals it: OpenCV Laplacian(ksize=3) is "
                               "[[2,0,2],[0,-8,0],[2,0,2]] and scikit-image's laplace is laplacian4"),
    "line_0": KernelSource("line-detection mask (Gonzalez & Woods), 0 degrees"),
    "line_45": KernelSource("line-detection mask (Gonzalez & Woods), +45 degrees"),
    "line_90": KernelSource("line-detection mask (Gonzalez & Woods), 90 degrees"),
    "line_135": KernelSource("line-detection mask (Gonzalez & Woods), -45 degrees"),
    "emboss": KernelSource("image editors' emboss (GIMP's 3x3)"),
    "box": KernelSource("mean filter, as OpenCV blur((k, k)) and scipy.ndimage.uniform_filter(size=k)"),
    "gaussian": KernelSource("sampled Gaussian normalised to sum 1; gaussian:k uses OpenCV's default sigma "
                             "0.3*((k-1)/2 - 1) + 0.8; scikit-image filters.gaussian instead cuts at 4 sigma"),
}


def kernel_source(name: str) -> KernelSource | None:
    """The convention of named kernel ``name`` (``box:5`` → box), or None for a literal.

    >>> kernel_source("sobel_x").scale
    4
    """
    base = str(name).strip().split(":")[0].lower()
    return SOURCES.get(base)
