"""cnnlab's optimizers and schedules against torch.optim's (they must give identical weights)."""

import copy
import subprocess
import sys

import pytest
import torch

from cnnlab.train import TrainConfig
from cnnlab.train.optim import SGD, Adam, Scheduler, make_optimizer, make_scheduler, onecycle_at


def _problem(seed):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(3 * 4 * 4, 5))
    x, y = torch.randn(16, 2, 6, 6), torch.randint(0, 5, (16,))
    return model, x, y


def _train(model, opt, x, y, steps=7, scheduler=None):
    for i in range(steps):
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x[i % 2::2]), y[i % 2::2]).backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
    return [p.detach().clone() for p in model.parameters()]


CASES = [
    (lambda ps: Adam(ps, lr=0.01), lambda ps: torch.optim.Adam(ps, lr=0.01, foreach=False)),
    (lambda ps: Adam(ps, lr=0.02, betas=(0.7, 0.9), weight_decay=0.1),
     lambda ps: torch.optim.Adam(ps, lr=0.02, betas=(0.7, 0.9), weight_decay=0.1, foreach=False)),
    (lambda ps: Adam(ps, lr=0.01, weight_decay=0.05, decoupled=True),
     lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.05, foreach=False)),
    (lambda ps: SGD(ps, lr=0.1), lambda ps: torch.optim.SGD(ps, lr=0.1, foreach=False)),
    (lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3),
     lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3, foreach=False)),
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("seed", [0, 1])
def test_optimizers_give_torch_optims_weights_exactly(case, seed):
    ours, theirs = CASES[case]
    model_a, x, y = _problem(seed)
    model_b, _, _ = _problem(seed)
    a = _train(model_a, ours([{"params": model_a.parameters()}]), x, y)
    b = _train(model_b, theirs(model_b.parameters()), x, y)
    assert all(torch.equal(p, q) for p, q in zip(a, b))
    assert not torch.equal(a[0], _problem(seed)[0][0].weight)  # it did move


def test_onecycle_matches_torch_onecycle_lr_and_momentum():
    model, x, y = _problem(0)
    total = 23
    torch_opt = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.7, 0.9))
    sched = torch.optim.lr_scheduler.OneCycleLR(torch_opt, max_lr=0.01, total_steps=total)
    expected = []
    for _ in range(total):
        expected.append((torch_opt.param_groups[0]["lr"], torch_opt.param_groups[0]["betas"][0]))
        torch_opt.step()
        sched.step()
    got = [onecycle_at(t, total, 0.01) for t in range(total)]
    flat = lambda pairs: [v for pair in pairs for v in pair]  # noqa: E731
    assert flat(got) == pytest.approx(flat(expected), rel=1e-12)


def test_onecycle_training_matches_torch_exactly():
    model_a, x, y = _problem(3)
    model_b, _, _ = _problem(3)
    config = TrainConfig(data="digits", model="mlp", optimizer="adam", lr=0.01, beta1=0.7,
                         beta2=0.9, schedule="onecycle", epochs=1)
    opt = make_optimizer([{"params": model_a.parameters(), "lr": 0.01}], config)
    a = _train(model_a, opt, x, y, steps=9, scheduler=make_scheduler(opt, config, 9))
    t_opt = torch.optim.Adam(model_b.parameters(), lr=0.01, betas=(0.7, 0.9), foreach=False)
    b = _train(model_b, t_opt, x, y, steps=9,
               scheduler=torch.optim.lr_scheduler.OneCycleLR(t_opt, max_lr=0.01, total_steps=9))
    assert all(torch.allclose(p, q, rtol=0, atol=1e-7) for p, q in zip(a, b))


def test_state_dict_round_trip_continues_identically():
    model_a, x, y = _problem(5)
    opt = Adam([{"params": model_a.parameters(), "lr": 0.01}])
    sched = Scheduler(opt, lambda t, g: (g["initial_lr"] / (1 + t), None))
    _train(model_a, opt, x, y, steps=3, scheduler=sched)
    saved_model = {k: v.clone() for k, v in model_a.state_dict().items()}
    saved_opt, saved_sched = copy.deepcopy(opt.state_dict()), sched.state_dict()
    after = _train(model_a, opt, x, y, steps=4, scheduler=sched)
    model_b, _, _ = _problem(5)
    model_b.load_state_dict(saved_model)
    opt_b = Adam([{"params": model_b.parameters(), "lr": 0.01}])
    opt_b.load_state_dict(saved_opt)
    sched_b = Scheduler(opt_b, lambda t, g: (g["initial_lr"] / (1 + t), None))
    sched_b.load_state_dict(saved_sched)
    again = _train(model_b, opt_b, x, y, steps=4, scheduler=sched_b)
    assert all(torch.equal(p, q) for p, q in zip(after, again))
    with pytest.raises(ValueError):
        SGD([{"params": model_b.parameters(), "lr": 0.1}]).load_state_dict(saved_opt)


def test_training_never_imports_torch_dynamo(tmp_path):
    code = ("import sys\nfrom cnnlab.train import TrainConfig, fit\n"
            f"fit(TrainConfig(data='digits', model='logreg', epochs=1, out={str(tmp_path / 'r')!r}))\n"
            "print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_importing_train_config_does_not_import_torch():
    code = ("import sys\nfrom cnnlab.train import TrainConfig\nTrainConfig(data='mnist', model='mlp')\n"
            "from cnnlab.train.recipes import list_recipes\nlist_recipes()\n"
            "print('torch' in sys.modules, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_grad_scaler_drives_our_optimizer_as_it_drives_torch_optim():
    """The CUDA AMP path steps through torch.amp.GradScaler; checked here with its CPU
    variant (a power-of-two scale, so unscaling is exact)."""
    model_a, x, y = _problem(2)
    model_b, _, _ = _problem(2)
    opt = Adam([{"params": model_a.parameters(), "lr": 0.01}])
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
    for _ in range(3):
        opt.zero_grad()
        scaler.scale(torch.nn.functional.cross_entropy(model_a(x), y)).backward()
        scaler.step(opt)
        scaler.update()
    ref = torch.optim.Adam(model_b.parameters(), lr=0.01, foreach=False)
    for _ in range(3):
        ref.zero_grad()
        torch.nn.functional.cross_entropy(model_b(x), y).backward()
        ref.step()
    assert all(torch.allclose(p, q, atol=1e-6) for p, q in zip(model_a.parameters(), model_b.parameters()))


DEFAULT_CASES = [  # torch.optim's classes with their own defaults (foreach chosen by torch)
    ("adam", lambda ps: Adam(ps, lr=0.01, weight_decay=0.01), lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=0.01)),
    ("adamw", lambda ps: Adam(ps, lr=0.01, decoupled=True, weight_decay=0.01),
     lambda ps: torch.optim.AdamW(ps, lr=0.01)),
    ("sgd", lambda ps: SGD(ps, lr=0.1, momentum=0.5), lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.5)),
]


@pytest.mark.parametrize("name,ours,theirs", DEFAULT_CASES, ids=[c[0] for c in DEFAULT_CASES])
def test_optimizers_match_torch_optim_with_its_default_kernel_choice(name, ours, theirs):
    model_a, x, y = _problem(7)
    model_b, _, _ = _problem(7)
    a = _train(model_a, ours([{"params": model_a.parameters()}]), x, y, steps=11)
    b = _train(model_b, theirs(model_b.parameters()), x, y, steps=11)
    assert all(torch.equal(p, q) for p, q in zip(a, b))


def test_sgd_default_momentum_is_torchs():
    """--momentum defaults to 0, as torch.optim.SGD (and Keras) do."""
    import inspect

    assert TrainConfig(data="digits", model="mlp").momentum == 0.0
    assert inspect.signature(torch.optim.SGD).parameters["momentum"].default == 0
    model_a, x, y = _problem(4)
    model_b, _, _ = _problem(4)
    config = TrainConfig(data="digits", model="mlp", optimizer="sgd", lr=0.05)
    a = _train(model_a, make_optimizer([{"params": model_a.parameters(), "lr": 0.05}], config), x, y)
    b = _train(model_b, torch.optim.SGD(model_b.parameters(), lr=0.05), x, y)
    assert all(torch.equal(p, q) for p, q in zip(a, b))


def test_adam_state_saved_with_an_integer_step_resumes_like_torch():
    """Run folders written before the functional kernels kept Adam's step as an int."""
    model_a, x, y = _problem(6)
    model_b, _, _ = _problem(6)
    opt = Adam([{"params": model_a.parameters(), "lr": 0.01}])
    ref = torch.optim.Adam(model_b.parameters(), lr=0.01)
    _train(model_a, opt, x, y, steps=3)
    _train(model_b, ref, x, y, steps=3)
    saved = opt.state_dict()
    for buffers in saved["state"]:
        buffers["step"] = int(buffers["step"])  # the older format
    opt2 = Adam([{"params": model_a.parameters(), "lr": 0.01}])
    opt2.load_state_dict(saved)
    a = _train(model_a, opt2, x, y, steps=4)
    b = _train(model_b, ref, x, y, steps=4)
    assert all(torch.equal(p, q) for p, q in zip(a, b))


def test_functional_kernels_step_without_importing_torch_dynamo():
    code = ("import sys, torch\nfrom cnnlab.train.optim import SGD, Adam\n"
            "w = torch.nn.Parameter(torch.ones(3))\n"
            "for opt in (SGD([{'params': [w], 'lr': 0.1}], momentum=0.9), Adam([{'params': [w], 'lr': 0.1}]),\n"
            "            Adam([{'params': [w], 'lr': 0.1}], decoupled=True, weight_decay=0.1)):\n"
            "    for _ in range(2):\n"
            "        w.grad = torch.ones(3); opt.step()\n"
            "print('torch._dynamo' in sys.modules)\n"
            "torch.optim.Adam([w]).step()\n"  # the control: torch.optim's class does import it
            "print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_training_log_states_the_optimizers_settings(tmp_path):
    from cnnlab.train import fit

    lines = []
    fit(TrainConfig(data="digits", model="logreg", epochs=1, optimizer="sgd", lr=0.05, limit=200,
                    out=str(tmp_path / "r")), log=lines.append)
    assert "optimizer sgd (lr 0.05, momentum 0, weight decay 0), schedule none, global batch 64" in lines
    lines.clear()
    fit(TrainConfig(data="digits", model="logreg", epochs=1, optimizer="adamw", lr=0.002, beta1=0.8,
                    weight_decay=0.01, limit=200, out=str(tmp_path / "s")), log=lines.append)
    assert any(line.startswith("optimizer adamw (lr 0.002, betas (0.8, 0.999), decoupled weight decay 0.01)")
               for line in lines)
