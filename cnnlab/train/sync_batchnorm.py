"""Batch norm over the global batch of a data-parallel run, on the CPU.

torch's ``nn.SyncBatchNorm`` refuses CPU tensors (torch 2.14: its forward accepts CUDA,
XPU, HPU and private-use devices only), so cnnlab keeps this one for gloo runs; on CUDA
:func:`cnnlab.train.distributed.convert_batchnorm` uses torch's.
"""

from __future__ import annotations

import torch
import torch.distributed as tdist
from torch import nn

__all__ = ["SyncBatchNormCPU", "convert_cpu"]


class _SyncBN(torch.autograd.Function):
    """Batch norm of x: (N, C, ...) with mean and variance over the batches of all ranks."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps: float):
        C = x.shape[1]
        dims = [0] + list(range(2, x.dim()))
        count = torch.tensor([x.numel() / max(1, C)], dtype=torch.float64)
        total = torch.cat([x.sum(dims, dtype=torch.float64), count])  # (C + 1,)
        tdist.all_reduce(total)
        n = total[C]
        mean = (total[:C] / n).to(x.dtype)  # (C,)
        shape = [1, C] + [1] * (x.dim() - 2)
        centred = x - mean.view(shape)
        sq = centred.pow(2).sum(dims, dtype=torch.float64)
        tdist.all_reduce(sq)
        var = (sq / n).to(x.dtype)  # biased, as batch norm normalises
        invstd = torch.rsqrt(var + eps)
        xhat = centred * invstd.view(shape)
        ctx.save_for_backward(xhat, invstd, weight)
        ctx.n, ctx.shape, ctx.dims = float(n), shape, dims
        out = xhat * weight.view(shape) + bias.view(shape) if weight is not None else xhat
        unbiased = var * (float(n) / max(1.0, float(n) - 1))  # for running_var
        ctx.mark_non_differentiable(mean, unbiased)
        return out, mean, unbiased

    @staticmethod
    def backward(ctx, grad_out, _grad_mean, _grad_var):
        xhat, invstd, weight = ctx.saved_tensors
        shape, dims, n = ctx.shape, ctx.dims, ctx.n
        g = grad_out * weight.view(shape) if weight is not None else grad_out  # dL/dxhat
        sums = torch.cat([g.sum(dims, dtype=torch.float64), (g * xhat).sum(dims, dtype=torch.float64)])
        tdist.all_reduce(sums)
        C = xhat.shape[1]
        mean_g = (sums[:C] / n).to(g.dtype).view(shape)
        mean_gx = (sums[C:] / n).to(g.dtype).view(shape)
        grad_x = invstd.view(shape) * (g - mean_g - xhat * mean_gx)
        grad_w = (grad_out * xhat).sum(dims) if weight is not None else None
        grad_b = grad_out.sum(dims) if weight is not None else None
        return grad_x, grad_w, grad_b, None


class SyncBatchNormCPU(nn.modules.batchnorm._BatchNorm):
    """``nn.SyncBatchNorm`` for the CPU (torch's needs CUDA kernels): in training, the
    statistics are those of the global batch (three small all_reduces per layer and step);
    in evaluation it is plain batch norm. Its state dict is that of ``nn.BatchNorm2d``."""

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2-D input, got {x.dim()}-D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and tdist.is_initialized()):
            return super().forward(x)
        self._check_input_dim(x)
        out, mean, var = _SyncBN.apply(x, self.weight, self.bias, self.eps)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked += 1
                factor = (1.0 / float(self.num_batches_tracked) if self.momentum is None
                          else self.momentum)
                self.running_mean.mul_(1 - factor).add_(mean.detach(), alpha=factor)
                self.running_var.mul_(1 - factor).add_(var.detach(), alpha=factor)
        return out


def convert_cpu(module: nn.Module) -> nn.Module:
    """``module`` with every batch-norm layer replaced by :class:`SyncBatchNormCPU` (same
    parameters, state and requires_grad)."""
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module, SyncBatchNormCPU):
        new = SyncBatchNormCPU(module.num_features, module.eps, module.momentum, module.affine,
                               module.track_running_stats)
        like = next(iter(module.state_dict().values()), None)
        if like is not None and module.affine:
            new = new.to(device=module.weight.device, dtype=module.weight.dtype)
        elif like is not None:
            new = new.to(device=like.device, dtype=module.running_mean.dtype)
        new.load_state_dict(module.state_dict())
        new.train(module.training)
        for p_new, p_old in zip(new.parameters(), module.parameters()):
            p_new.requires_grad_(p_old.requires_grad)
        return new
    for name, child in module.named_children():
        setattr(module, name, convert_cpu(child))
    return module
