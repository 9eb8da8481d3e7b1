"""Sub-modules that run only in training mode, such as GoogLeNet's auxiliary classifiers.

``cnnlab arch`` traces a module in eval mode, so a head that ``forward`` calls only while
training (torchvision's GoogLeNet ``aux1``/``aux2``, Inception-v3's ``AuxLogits``) has no
row. :func:`training_only_heads` names them: the largest sub-modules none of whose
parameters the eval-mode trace used, that a training-mode forward pass on a copy of the
module does call. Parameters that are neither traced nor in such a head stay
"parameters outside the traced forward pass" (docs/arch.md).

torch is imported inside the functions only.
"""

from __future__ import annotations

__all__ = ["training_only_heads"]


def _untraced_modules(module, traced_ids: set[int]) -> list[tuple[str, object]]:
    """The outermost sub-modules with parameters, none of them traced: (name, module)."""
    found: list[tuple[str, object]] = []
    for name, sub in module.named_modules():
        if not name or any(name.startswith(prefix + ".") for prefix, _ in found):
            continue
        params = list(sub.parameters())
        if params and not any(id(p) in traced_ids for p in params):
            found.append((name, sub))
    return found


def training_only_heads(module, traced_ids: set[int], shape: tuple[int, ...]) -> list[dict]:
    """``[{"name", "type", "params"}]`` of the heads only a training-mode forward runs.

    module: the analysed ``nn.Module``; traced_ids: ``id`` of every parameter the eval
    trace attributed; shape: (C, H, W) of one input. The training pass runs on a deep
    copy (a batch of 2 zeros, no gradients), so the module's batch-norm statistics are
    untouched. A module whose training pass fails names no heads.
    """
    import copy

    import torch

    candidates = _untraced_modules(module, traced_ids)
    if not candidates:
        return []
    twin = copy.deepcopy(module).train()
    lookup = dict(twin.named_modules())
    called: set[str] = set()
    hooks = [lookup[name].register_forward_hook(lambda m, i, o, name=name: called.add(name))
             for name, _ in candidates]
    first = next(twin.parameters(), None)
    x = torch.zeros((2, *shape), dtype=first.dtype if first is not None and first.is_floating_point()
                    else torch.float32, device=first.device if first is not None else "cpu")
    try:
        with torch.no_grad():
            twin(x)
    except Exception:  # noqa: BLE001 - a model that cannot train on zeros: nothing to name
        return []
    finally:
        for hook in hooks:
            hook.remove()
    return [{"name": name, "type": type(sub).__name__, "params": sum(p.numel() for p in sub.parameters())}
            for name, sub in candidates if name in called]
