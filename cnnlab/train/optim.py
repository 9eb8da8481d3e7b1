"""Optimizers and learning-rate schedules named in a TrainConfig.

SGD, Adam and AdamW step through torch's own functional kernels (``torch.optim.sgd.sgd``,
``torch.optim.adam.adam``, ``torch.optim.adamw.adamw``) called with the arguments
``torch.optim``'s classes pass them, so the weights are *identical* to ``torch.optim``'s
(tests/test_train_optim.py). Only the bookkeeping around them (parameter groups, state,
state dict) is written here, because constructing a ``torch.optim`` optimizer imports
``torch._dynamo`` and calling the functional kernels does not: measured on the 2-core
machine, creating and stepping ``torch.optim.Adam`` once cost 1.95 s (load 0.57), the
three kernels 0.0015 s, with ``torch._dynamo`` still not imported (docs/training.md,
"Speed"). The schedules are pure functions of the step (``onecycle_at`` matches
``OneCycleLR``, momentum cycling included), so a schedule's state is one integer.

>>> import torch
>>> w = torch.nn.Parameter(torch.ones(2))
>>> opt = Adam([{"params": [w], "lr": 0.1}])
>>> (w * w).sum().backward(); opt.step()
>>> [round(v, 4) for v in w.tolist()]
[0.9, 0.9]
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator

import torch
from torch.optim.adam import adam as _adam_kernel
from torch.optim.adamw import adamw as _adamw_kernel
from torch.optim.sgd import sgd as _sgd_kernel

from cnnlab.train.config import TrainConfig

__all__ = ["make_optimizer", "make_scheduler", "describe_optimizer", "PER_BATCH_SCHEDULES", "SGD",
           "Adam", "Scheduler", "onecycle_at", "cosine_at", "step_at"]

# Schedules stepped after every batch; "step" is stepped after every epoch.
PER_BATCH_SCHEDULES = ("cosine", "onecycle")


class _Optimizer:
    """What the loop needs of an optimizer: ``param_groups`` (dicts with ``params`` and
    ``lr``), ``zero_grad``, ``step`` and a state dict of plain tensors and numbers."""

    kind = ""
    defaults: dict[str, Any] = {}

    def __init__(self, groups: list[dict], **defaults: Any):
        self.param_groups = []
        for group in groups:
            group = {**self.defaults, **defaults, **group}
            group["params"] = list(group["params"])
            group.setdefault("initial_lr", group["lr"])
            self.param_groups.append(group)
        self.state: dict[int, dict[str, Any]] = {}  # id(param) -> buffers
        self._step_supports_amp_scaling = False  # GradScaler unscales before step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.zero_()

    def _groups_with_grads(self) -> Iterator[tuple[dict, list[torch.Tensor], list[torch.Tensor]]]:
        """(group, params, grads) for each group, over its parameters that have a gradient;
        a group with none is skipped."""
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if params:
                yield group, params, [p.grad for p in params]

    # --- state ---------------------------------------------------------------------

    _BUFFERS: tuple[str, ...] = ()

    def state_dict(self) -> dict[str, Any]:
        """Hyper-parameters per group and buffers per parameter (by position)."""
        groups, buffers = [], []
        for group in self.param_groups:
            groups.append({k: v for k, v in group.items() if k != "params"})
            for p in group["params"]:
                s = self.state.get(id(p), {})
                buffers.append({k: s[k] for k in self._BUFFERS if k in s})
        return {"kind": self.kind, "param_groups": groups, "state": buffers}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        params = [p for g in self.param_groups for p in g["params"]]
        if saved.get("kind") != self.kind or len(saved["param_groups"]) != len(self.param_groups) \
                or len(saved["state"]) != len(params):
            raise ValueError(f"optimizer state of a different optimizer ({saved.get('kind')!r})")
        for group, values in zip(self.param_groups, saved["param_groups"]):
            group.update({k: (tuple(v) if k == "betas" else v) for k, v in values.items()})
        self.state = {}
        for p, buffers in zip(params, saved["state"]):
            if buffers:
                self.state[id(p)] = {k: self._restore(k, v, p) for k, v in buffers.items()}

    @staticmethod
    def _restore(name: str, value: Any, p: torch.Tensor) -> Any:
        if name == "step":  # a tensor on the CPU, as torch.optim keeps it; older runs saved an int
            return torch.as_tensor(value, dtype=_step_dtype()).detach().clone().cpu()
        return value.to(p.device) if torch.is_tensor(value) else value


def _step_dtype() -> torch.dtype:
    """The dtype torch.optim counts steps in (float32, or float64 under that default dtype)."""
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


class SGD(_Optimizer):
    """``torch.optim.SGD`` (momentum without dampening, L2 weight decay) through
    ``torch.optim.sgd.sgd``, for each group."""

    kind = "sgd"
    defaults = {"momentum": 0.0, "weight_decay": 0.0}
    _BUFFERS = ("momentum_buffer",)

    @torch.no_grad()
    def step(self) -> None:
        for group, params, grads in self._groups_with_grads():
            momentum = group["momentum"]
            bufs = [self.state.get(id(p), {}).get("momentum_buffer") for p in params]
            _sgd_kernel(params, grads, bufs, weight_decay=group["weight_decay"], momentum=momentum,
                        lr=group["lr"], dampening=0.0, nesterov=False, maximize=False)
            if momentum:  # the kernel creates the buffers of the first step in the list
                for p, buf in zip(params, bufs):
                    self.state.setdefault(id(p), {})["momentum_buffer"] = buf


class Adam(_Optimizer):
    """``torch.optim.Adam`` (or AdamW with ``decoupled=True``) through
    ``torch.optim.adam.adam`` (``adamw.adamw``), for each group."""

    kind = "adam"
    defaults = {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "decoupled": False}
    _BUFFERS = ("step", "exp_avg", "exp_avg_sq")

    @torch.no_grad()
    def step(self) -> None:
        for group, params, grads in self._groups_with_grads():
            states = []
            for p in params:
                s = self.state.get(id(p))
                if s is None:
                    s = self.state[id(p)] = {
                        "step": torch.tensor(0.0, dtype=_step_dtype()),
                        "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                        "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format)}
                states.append(s)
            kernel = _adamw_kernel if group["decoupled"] else _adam_kernel
            beta1, beta2 = group["betas"]
            kernel(params, grads, [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states],
                   [], [s["step"] for s in states], has_complex=any(torch.is_complex(p) for p in params),
                   amsgrad=False, beta1=beta1, beta2=beta2, lr=group["lr"],
                   weight_decay=group["weight_decay"], eps=group["eps"], maximize=False)


def describe_optimizer(config: TrainConfig) -> str:
    """The optimizer's settings in one phrase, for the training log.

    >>> describe_optimizer(TrainConfig(data="digits", model="mlp", optimizer="sgd", lr=0.05))
    'sgd (lr 0.05, momentum 0, weight decay 0)'
    >>> describe_optimizer(TrainConfig(data="digits", model="mlp", schedule="onecycle"))
    'adam (lr 0.001, betas (0.9, 0.999), beta1 cycled 0.95-0.85-0.95 by onecycle, weight decay 0)'
    """
    cycled = "cycled 0.95-0.85-0.95 by onecycle" if config.schedule == "onecycle" else ""
    if config.optimizer == "sgd":
        shape = f"momentum {config.momentum:g}" + (f" {cycled}" if cycled and config.momentum > 0 else "")
    else:
        shape = f"betas ({config.beta1:g}, {config.beta2:g})" + (f", beta1 {cycled}" if cycled else "")
    decay = "decoupled weight decay" if config.optimizer == "adamw" else "weight decay"
    return f"{config.optimizer} (lr {config.lr:g}, {shape}, {decay} {config.weight_decay:g})"


def make_optimizer(groups: list[dict], config: TrainConfig) -> _Optimizer:
    """SGD (with ``momentum``), Adam or AdamW over ``groups`` (each with its own lr)."""
    if config.optimizer == "sgd":
        return SGD(groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    return Adam(groups, lr=config.lr, weight_decay=config.weight_decay,
                betas=(config.beta1, config.beta2), decoupled=config.optimizer == "adamw")


# --- schedules: pure functions of the step -------------------------------------------

def _cos(start: float, end: float, pct: float) -> float:
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def onecycle_at(step: int, total: int, max_lr: float, pct_start: float = 0.3,
                div_factor: float = 25.0, final_div_factor: float = 1e4,
                momentum: tuple[float, float] = (0.85, 0.95)) -> tuple[float, float]:
    """(lr, momentum) of ``OneCycleLR`` (cosine, two phases) after ``step`` steps.

    >>> [round(v, 6) for v in onecycle_at(0, 100, 0.1)]  # starts at max_lr / 25
    [0.004, 0.95]
    """
    initial, base_m, max_m = max_lr / div_factor, momentum[0], momentum[1]
    phases = ((float(pct_start * total) - 1, initial, max_lr, max_m, base_m),
              (float(total - 1), max_lr, initial / final_div_factor, base_m, max_m))
    start = 0.0
    for i, (end, lr0, lr1, m0, m1) in enumerate(phases):
        if step <= end or i == len(phases) - 1:
            pct = (step - start) / (end - start)
            return _cos(lr0, lr1, pct), _cos(m0, m1, pct)
        start = end
    raise AssertionError("unreachable")


def cosine_at(step: int, total: int, lr: float) -> float:
    """Cosine decay from ``lr`` to 0 over ``total`` steps (``CosineAnnealingLR``'s closed form)."""
    return lr * (1 + math.cos(math.pi * step / total)) / 2


def step_at(epoch: int, lr: float, step_size: int, gamma: float) -> float:
    """``lr * gamma ** (epoch // step_size)`` (``StepLR``)."""
    return lr * gamma ** (epoch // step_size)


class Scheduler:
    """Sets each group's lr (and for onecycle its momentum) from the number of steps taken."""

    def __init__(self, optimizer: _Optimizer, rule: Callable[[int, dict], tuple[float, float | None]]):
        self.optimizer, self.rule, self.last_step = optimizer, rule, 0
        self._apply()

    def _apply(self) -> None:
        for group in self.optimizer.param_groups:
            lr, momentum = self.rule(self.last_step, group)
            group["lr"] = lr
            if momentum is not None:
                if "betas" in group:
                    group["betas"] = (momentum, group["betas"][1])
                else:
                    group["momentum"] = momentum

    def step(self) -> None:
        self.last_step += 1
        self._apply()

    def state_dict(self) -> dict[str, int]:
        return {"last_step": self.last_step}

    def load_state_dict(self, saved: dict[str, int]) -> None:
        self.last_step = int(saved["last_step"])
        self._apply()


def make_scheduler(optimizer: _Optimizer, config: TrainConfig, steps_per_epoch: int) -> Scheduler | None:
    """The schedule as a :class:`Scheduler`, or None for ``schedule="none"``.

    step: lr x gamma every ``step_size`` epochs (default a third of the run; stepped per
    epoch); cosine: cosine decay to 0 over all batches; onecycle: warm-up to ``lr`` for 30%
    of the batches, then annealing, momentum (SGD) or beta1 (Adam) cycling inversely
    between 0.85 and 0.95, as ``OneCycleLR`` with its defaults.
    """
    total = config.epochs * steps_per_epoch
    if config.schedule == "step":
        size = config.step_size or max(1, config.epochs // 3)
        return Scheduler(optimizer, lambda t, g: (step_at(t, g["initial_lr"], size, config.gamma), None))
    if config.schedule == "cosine":
        return Scheduler(optimizer, lambda t, g: (cosine_at(t, total, g["initial_lr"]), None))
    if config.schedule == "onecycle":
        cycle = config.optimizer != "sgd" or config.momentum > 0
        def rule(t: int, g: dict) -> tuple[float, float | None]:
            lr, momentum = onecycle_at(t, total, g["initial_lr"])
            return lr, momentum if cycle else None
        return Scheduler(optimizer, rule)
    return None
