"""`arch --torchvision googlenet` names the auxiliary classifiers as training-only heads."""

from __future__ import annotations

import torch
from torch import nn

from cnnlab.arch.torch_analyze import analyze
from cnnlab.cli.main import main


def test_googlenet_aux_heads_are_named_with_their_parameter_counts(capsys):
    from torchvision.models import googlenet

    model = googlenet(weights=None, aux_logits=True, init_weights=False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    table = analyze(model, (3, 224, 224))
    heads = {h["name"]: h for h in table["training_only_heads"]}
    assert set(heads) == {"aux1", "aux2"}
    for name in heads:
        assert heads[name]["type"] == "InceptionAux"
        assert heads[name]["params"] == sum(p.numel() for p in getattr(model, name).parameters())
    assert sum(h["params"] for h in heads.values()) == table["unattributed_params"] == 6_379_984
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # stats untouched
    assert main(["arch", "--torchvision", "googlenet"]) == 0
    out = capsys.readouterr().out
    assert "training-only head aux1 (InceptionAux): 3,188,968 parameters" in out
    assert "training-only head aux2 (InceptionAux): 3,191,016 parameters" in out
    assert "outside the traced forward pass" not in out


class _Attribute(nn.Module):
    """A parameter used through an attribute in eval and training alike: not a head."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.unused = nn.Linear(4, 4)  # never called: not a training-only head either

    def forward(self, x):
        return self.conv(x)


def test_a_module_never_called_is_not_a_training_head():
    table = analyze(_Attribute(), (1, 8, 8))
    assert table["unattributed_params"] == 20 and table["training_only_heads"] == []
