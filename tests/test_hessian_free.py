"""Hessian-free optimisation: the Gauss-Newton product, and learning a small problem (against SGD)."""

import numpy as np
import pytest
import torch
from torch import nn

from mgrfaults.systems.dnn import MLP, init_mlp
from mgrfaults.systems.hessian_free import HessianFree, gauss_newton_product


def blobs(n_per_class=60, n_classes=3, dim=8, seed=0, spread=3.0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim)) * spread
    x = np.concatenate([centres[c] + rng.normal(size=(n_per_class, dim)) for c in range(n_classes)])
    y = np.repeat(np.arange(n_classes), n_per_class)
    perm = rng.permutation(len(y))
    return torch.tensor(x[perm], dtype=torch.float32), torch.tensor(y[perm])


def test_gauss_newton_product_equals_explicit_jacobian_form():
    torch.manual_seed(0)
    model = MLP(4, [5], 3, "sigmoid")
    x, _ = blobs(10, 3, 4)
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    theta = torch.cat([p.detach().flatten() for p in model.parameters()])

    def f(t):
        params, pos = {}, 0
        for name, shape in zip(names, shapes):
            k = int(np.prod(shape))
            params[name] = t[pos : pos + k].view(shape)
            pos += k
        return torch.func.functional_call(model, params, (x,))

    J = torch.autograd.functional.jacobian(f, theta)  # (n, classes, n_params)
    p = torch.softmax(f(theta), 1)
    v = torch.randn(theta.numel())
    expected = torch.zeros_like(theta)
    for i in range(len(x)):
        H = torch.diag(p[i]) - torch.outer(p[i], p[i])
        expected += J[i].T @ H @ J[i] @ v
    expected /= len(x)
    got = gauss_newton_product(f, theta)(v)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-6)
    assert float(v @ got) >= -1e-6  # positive semi-definite


def _train(opt_name, steps, seed=0):
    x, y = blobs()
    torch.manual_seed(seed)
    model = init_mlp(MLP(8, [16], 3, "sigmoid"), "glorot", seed=seed)
    if opt_name == "hf":
        opt = HessianFree(model, damping=1.0, cg_max_iter=30, gn_fraction=1.0)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    for _ in range(steps):
        if opt_name == "hf":
            opt.step(x, y)
        else:
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        out = model(x)
    return float(nn.functional.cross_entropy(out, y)), float((out.argmax(1) == y).float().mean())


def test_hf_learns_separable_problem_faster_than_sgd():
    hf_loss, hf_acc = _train("hf", steps=10)
    sgd_loss, sgd_acc = _train("sgd", steps=10)
    assert hf_acc == 1.0
    assert hf_loss < 0.05
    assert hf_loss < sgd_loss / 5  # ten truncated-Newton steps beat ten gradient steps by far


def test_hf_never_increases_the_batch_loss():
    x, y = blobs(seed=3)
    model = init_mlp(MLP(8, [16], 3, "relu"), "uniform", init_range=0.1, seed=1)
    opt = HessianFree(model, damping=10.0, cg_max_iter=10)
    losses = []
    for _ in range(5):
        _, loss = opt.step(x, y)
        losses.append(float(loss))
        assert opt.last["damping"] > 0
    assert all(b <= a + 1e-6 for a, b in zip(losses, losses[1:]))
