"""Hessian-free optimisation (Martens 2010, "Deep learning via Hessian-free optimization").

A truncated Newton method: each step solves ``(G + lambda I) d = -g`` approximately by conjugate
gradient, where ``G`` is the Gauss-Newton matrix of the softmax cross-entropy loss. ``G v`` is never
formed: it is ``J^T H_L J v`` with ``J v`` from ``torch.func.jvp``, ``J^T u`` from ``torch.func.vjp``
and ``H_L = (diag(p) - p p^T) / n`` the Hessian of the mean cross-entropy in the logits. As in the
paper: CG warm-started from the previous direction (decayed), Martens' relative-progress stopping
rule, CG-iterate backtracking, Levenberg-Marquardt damping from the reduction ratio, and an Armijo
line search on the chosen direction. Curvature uses the first ``gn_fraction`` of each minibatch
(minibatches are shuffled, so that is a random subset).

HF treats the network deterministically: dropout is not applied in its gradient or curvature.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.func import functional_call, jvp, vjp
from torch.nn.utils import parameters_to_vector, vector_to_parameters
from mgrfaults.config import section_defaults

# the schema's defaults (workflow/schemas/config.schema.yaml): the one place a default is written
_HF = section_defaults("systems.dnn.hf")


def gauss_newton_product(f, theta: torch.Tensor):
    """The Gauss-Newton matrix-vector product of the mean softmax cross-entropy of ``f(theta)``.

    Parameters
    ----------
    f : callable
        Flat parameters (n_params,) -> logits (n, n_classes).
    theta : Tensor, shape (n_params,)
        Where the curvature is taken.

    Returns
    -------
    callable
        ``v -> J^T H_L J v``, shape (n_params,), with ``J`` the Jacobian of the logits in the
        parameters and ``H_L = (diag(p) - p p^T) / n`` the Hessian of the mean cross-entropy in the
        logits (p: softmax outputs). Positive semi-definite.
    """
    out, vjp_fn = vjp(f, theta)
    probs = torch.softmax(out.detach(), 1)
    n = len(out)

    def product(v):
        _, jv = jvp(f, (theta,), (v,))
        hjv = (probs * jv - probs * (probs * jv).sum(1, keepdim=True)) / n
        (gv,) = vjp_fn(hjv)
        return gv

    return product


class HessianFree:
    """Hessian-free optimiser of a classifier trained with softmax cross-entropy.

    Parameters
    ----------
    model : nn.Module
        Returns logits ``(batch, n_classes)`` from ``model(x)``.
    damping : float
        Initial Tikhonov damping ``lambda``.
    cg_max_iter, cg_min_iter : int
        Conjugate-gradient iterations per step (at most / at least).
    cg_tol : float
        Martens' stopping rule: stop when the quadratic's relative progress over the last
        ``k = max(10, 0.1 i)`` iterations is below ``k * cg_tol``.
    cg_decay : float
        CG starts from ``cg_decay`` times the previous step's direction.
    gn_fraction : float
        Share of each minibatch used for the Gauss-Newton products.
    max_backtracks : int
        Step-size halvings (factor 0.8) tried in the Armijo line search.
    armijo : float
        Sufficient-decrease constant of the line search.
    """

    def __init__(
        self,
        model: nn.Module,
        damping: float = _HF["damping"],
        cg_max_iter: int = _HF["cg_max_iter"],
        cg_min_iter: int = _HF["cg_min_iter"],
        cg_tol: float = _HF["cg_tol"],
        cg_decay: float = _HF["cg_decay"],
        gn_fraction: float = _HF["gn_fraction"],
        max_backtracks: int = _HF["max_backtracks"],
        armijo: float = 1e-2,
        min_damping: float = 1e-6,
    ):
        self.model = model
        self.damping = float(damping)
        self.cg_max_iter, self.cg_min_iter = int(cg_max_iter), int(cg_min_iter)
        self.cg_tol, self.cg_decay = float(cg_tol), float(cg_decay)
        self.gn_fraction = float(gn_fraction)
        self.max_backtracks, self.armijo, self.min_damping = int(max_backtracks), float(armijo), float(min_damping)
        self._named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self._buffers = dict(model.named_buffers())
        self._prev = None
        self.last = {}  # diagnostics of the last step

    # -- flat parameter vector <-> the module's parameters --------------------------------------
    def _params(self, flat):
        out, pos = {}, 0
        for name, p in self._named:
            out[name] = flat[pos : pos + p.numel()].view_as(p)
            pos += p.numel()
        return out

    def _logits(self, flat, x):
        return functional_call(self.model, ({**self._params(flat)}, self._buffers), (x,))

    def _loss(self, flat, x, y):
        return nn.functional.cross_entropy(self._logits(flat, x), y)

    def step(self, x: torch.Tensor, y: torch.Tensor):
        """One HF update on the minibatch ``(x, y)``.

        Returns
        -------
        logits : Tensor, shape (batch, n_classes)
            Outputs before the update (for the running training error).
        loss : Tensor
            Mean cross-entropy before the update.
        """
        was_training = self.model.training
        self.model.eval()  # deterministic network: no dropout in HF
        try:
            return self._step(x, y)
        finally:
            self.model.train(was_training)

    def _step(self, x, y):
        params = [p for _, p in self._named]
        theta = parameters_to_vector(params).detach()
        theta_req = theta.clone().requires_grad_(True)
        logits = self._logits(theta_req, x)
        loss = nn.functional.cross_entropy(logits, y)
        (grad,) = torch.autograd.grad(loss, theta_req)
        logits, loss = logits.detach(), loss.detach()

        n_gn = max(1, int(math.ceil(len(y) * self.gn_fraction)))
        x_gn = x[:n_gn]

        def f(t):
            return self._logits(t, x_gn)

        gauss_newton = gauss_newton_product(f, theta)

        lam = self.damping

        def damped(v):
            return gauss_newton(v) + lam * v

        x0 = torch.zeros_like(theta) if self._prev is None else self.cg_decay * self._prev
        iterates = self._cg(damped, -grad, x0)
        # CG backtracking: the latest iterate unless an earlier one has a lower loss
        with torch.no_grad():
            best_i = len(iterates) - 1
            best_loss = self._loss(theta + iterates[best_i], x, y)
            for i in range(len(iterates) - 2, -1, -1):
                li = self._loss(theta + iterates[i], x, y)
                if li >= best_loss:
                    break
                best_i, best_loss = i, li
        d = iterates[best_i]
        self._prev = d.detach()
        # Levenberg-Marquardt: compare the actual decrease with the damped quadratic model's
        with torch.no_grad():
            q = float(grad @ d + 0.5 * d @ damped(d))
            rho = float(best_loss - loss) / q if q < 0 else -math.inf
            if rho < 0.25:
                self.damping *= 1.5
            elif rho > 0.75:
                self.damping = max(self.damping * 2.0 / 3.0, self.min_damping)
            # Armijo line search along d
            slope = float(grad @ d)
            rate, accepted = 1.0, False
            new_loss = best_loss
            for _ in range(self.max_backtracks):
                if rate != 1.0:
                    new_loss = self._loss(theta + rate * d, x, y)
                if float(new_loss) <= float(loss) + self.armijo * rate * slope:
                    accepted = True
                    break
                rate *= 0.8
            if accepted:
                vector_to_parameters(theta + rate * d, params)
        self.last = {"loss": float(loss), "rho": rho, "damping": self.damping, "rate": rate if accepted else 0.0,
                     "cg_iterations": len(iterates)}
        return logits, loss

    def _cg(self, A, b, x0):
        """Conjugate gradient on ``A x = b`` from ``x0``; returns the iterates kept for backtracking.

        Iterates are kept at ``ceil(1.3**j)`` and at the end (Martens 2010, section 4.6).
        """
        x = x0.clone()
        r = b - A(x)
        p = r.clone()
        rr = r @ r
        keep = {math.ceil(1.3**j) for j in range(64)}
        iterates, phis = [], []
        for i in range(1, self.cg_max_iter + 1):
            Ap = A(p)
            pAp = p @ Ap
            if pAp <= 0:  # the damped GN matrix is PSD; numerical trouble: stop
                break
            alpha = rr / pAp
            x = x + alpha * p
            r = r - alpha * Ap
            rr_new = r @ r
            phi = float(-0.5 * x @ (b + r))  # 0.5 x'Ax - b'x with Ax = b - r
            phis.append(phi)
            if i in keep:
                iterates.append(x.clone())
            k = max(10, int(0.1 * i))
            if i > k and i >= self.cg_min_iter and phi < 0 and (phi - phis[-k - 1]) / phi < k * self.cg_tol:
                break
            if rr_new < 1e-20:
                break
            p = r + (rr_new / rr) * p
            rr = rr_new
        if not iterates or not torch.equal(iterates[-1], x):
            iterates.append(x.clone())
        return iterates
