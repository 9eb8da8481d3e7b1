"""MACs of torchvision models against an independent oracle: ``torch.utils.flop_counter``.

FlopCounterMode counts the floating-point operations of the aten calls a forward pass
makes (convolution, addmm, mm, bmm, scaled dot-product attention), 2 per
multiply-accumulate. cnnlab counts from module shapes without running the products, so
the two are independent: flops of convolution + addmm + mm = 2·total_macs, and flops of
bmm + attention = 2·total_attention_macs. Every classification model runs in the slow
suite (models built on the meta device: no memory, no weights); a fast subset runs always.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")
nn = torch.nn

from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from cnnlab.arch.torch_analyze import DEFAULT_INPUTS, analyze, build_torchvision, torchvision_names  # noqa: E402

_LINEAR_OPS = {"convolution", "addmm", "mm", "_convolution", "convolution_backward"}
_ATTENTION_OPS = {"bmm", "baddbmm", "_scaled_dot_product_efficient_attention",
                  "_scaled_dot_product_flash_attention", "_scaled_dot_product_cudnn_attention",
                  "_scaled_dot_product_math"}


def oracle(model, shape) -> tuple[int, int]:
    """(linear flops, attention flops) of one forward pass of ``model`` on zeros of ``shape``."""
    first = next(model.parameters())
    x = torch.zeros((1, *shape), device=first.device, dtype=first.dtype)
    fast_path = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)  # the fused CPU kernel is invisible to the counter
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        torch.backends.mha.set_fastpath_enabled(fast_path)
    counts = {str(op).split(".")[-1]: n for op, n in counter.get_flop_counts()["Global"].items()}
    unknown = set(counts) - _LINEAR_OPS - _ATTENTION_OPS
    assert not unknown, f"operations this test does not sort: {unknown}"
    return (sum(n for op, n in counts.items() if op in _LINEAR_OPS),
            sum(n for op, n in counts.items() if op in _ATTENTION_OPS))


def check_model(name: str) -> dict:
    model = build_torchvision(name)
    shape = DEFAULT_INPUTS.get(name, (3, 224, 224))
    table = analyze(model, shape)
    linear, attention = oracle(model, shape)
    assert 2 * table["total_macs"] == linear, name
    assert 2 * table["total_attention_macs"] == attention, name
    assert sum(r["macs"] for r in table["layers"]) == table["total_macs"]
    return table


FAST = ["resnet18", "mobilenet_v3_small", "vit_b_16", "swin_t"]


@pytest.mark.parametrize("name", FAST)
def test_macs_equal_the_flop_counter_fast_subset(name):
    check_model(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in torchvision_names() if n not in FAST])
def test_macs_equal_the_flop_counter_every_classifier(name):
    check_model(name)


def test_vit_b_16_and_swin_t_figures():
    """The figures of fvcore's conv + linear count (issue 11), and the attention products by hand."""
    vit = analyze(build_torchvision("vit_b_16"), (3, 224, 224))
    assert vit["total_macs"] == 16_848_500_736
    # 12 blocks; 197 tokens of 768: Q·Kᵀ and A·V are 197·197·768 each
    assert vit["total_attention_macs"] == 12 * 2 * 197 * 197 * 768
    attention_rows = [r for r in vit["layers"] if r["type"] == "attention"]
    assert len(attention_rows) == 12
    assert all(r["macs"] == 4 * 197 * 768 * 768 for r in attention_rows)  # Q, K, V and output projections
    swin = analyze(build_torchvision("swin_t"), (3, 224, 224))
    assert swin["total_macs"] == 4_350_425_088
    assert swin["unattributed_params"] == 0  # the window attention's weights have rows now
    windows = {56: 64, 28: 16, 14: 4, 7: 1}  # 7x7 windows per stage; C doubles from 96
    blocks = {56: 2, 28: 2, 14: 6, 7: 2}
    expected = sum(blocks[n] * 2 * windows[n] * 49 * 49 * 96 * (56 // n) for n in windows)
    assert swin["total_attention_macs"] == expected


@pytest.mark.parametrize("batch_first,kdim", [(True, None), (False, None), (True, 24)])
def test_multihead_attention_module_against_the_flop_counter(batch_first, kdim):
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 32, 4, stride=4)
            self.key = nn.Linear(32, kdim) if kdim else nn.Identity()
            self.attn = nn.MultiheadAttention(32, 4, batch_first=batch_first, kdim=kdim, vdim=kdim)
            self.head = nn.Linear(32, 5)

        def forward(self, x):
            t = self.conv(x).flatten(2).transpose(1, 2)  # (N, L, E)
            if not batch_first:
                t = t.transpose(0, 1)
            k = self.key(t)
            out, _ = self.attn(t, k, k, need_weights=False)
            return self.head(out.mean(dim=1 if batch_first else 0))

    with torch.device("meta"):  # as the torchvision models: attention runs as plain bmm there
        model = Block().eval()
    table = analyze(model, (3, 32, 24))
    linear, attention = oracle(model, (3, 32, 24))
    assert 2 * table["total_macs"] == linear
    assert 2 * table["total_attention_macs"] == attention == 2 * 2 * 48 * 48 * 32


def test_matmul_of_two_activations_is_attention_and_of_a_parameter_is_a_mac():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(16, 8))

        def forward(self, x):
            t = x.flatten(2)                      # (N, 4, 16)
            gram = torch.matmul(t, t.transpose(1, 2))   # activations: (N, 4, 4), K = 16
            return torch.matmul(t, self.w).sum() + gram.sum()   # parameter: (N, 4, 8), K = 16

    with torch.device("meta"):
        net = Net()
    table = analyze(net, (4, 4, 4))
    linear, attention = oracle(net, (4, 4, 4))
    assert table["total_attention_macs"] == 4 * 4 * 16 and 2 * table["total_attention_macs"] == attention
    assert table["total_macs"] == 4 * 8 * 16 and 2 * table["total_macs"] == linear
