"""Greedy layer-wise RBM pre-training of an MLP's hidden layers (Hamel & Eck 2010's DBN).

Layer 1 is a Gaussian-Bernoulli RBM (visible units: standardised frames, unit variance), the
layers above Bernoulli-Bernoulli RBMs on the hidden probabilities of the layers below. Each is
trained by contrastive divergence (CD-k) with momentum and L2 weight decay; its weights and hidden
biases then initialise the corresponding :class:`mgrfaults.systems.dnn.MLP` layer.
"""

from __future__ import annotations

import numpy as np
import torch
from mgrfaults.config import section_defaults

# the schema's defaults (workflow/schemas/config.schema.yaml): the one place a default is written
_RBM = section_defaults("systems.dnn.rbm")


def cd_update(W, b_vis, b_hid, v0, gaussian_visible, cd_k, gen):
    """Contrastive-divergence gradient estimates for one minibatch.

    Parameters
    ----------
    W : Tensor, shape (n_hidden, n_visible)
    b_vis : Tensor, shape (n_visible,)
    b_hid : Tensor, shape (n_hidden,)
    v0 : Tensor, shape (batch, n_visible)
    gaussian_visible : bool
        Real-valued visible units of unit variance (reconstruction = mean); else Bernoulli.
    cd_k : int
        Gibbs steps.
    gen : torch.Generator

    Returns
    -------
    dW, db_vis, db_hid : Tensor
        Positive minus negative statistics, averaged over the batch (an ascent direction).
    recon_error : float
        Mean squared reconstruction error of the last Gibbs step.
    """
    h0 = torch.sigmoid(v0 @ W.T + b_hid)
    h = h0
    for _ in range(cd_k):
        h_sample = (torch.rand(h.shape, generator=gen, device=h.device) < h).to(v0.dtype)
        v = h_sample @ W + b_vis
        if not gaussian_visible:
            v = torch.sigmoid(v)
        h = torch.sigmoid(v @ W.T + b_hid)
    n = len(v0)
    dW = (h0.T @ v0 - h.T @ v) / n
    return dW, (v0 - v).mean(0), (h0 - h).mean(0), float(((v0 - v) ** 2).mean())


def pretrain_mlp(
    model,
    batches,
    epochs: int = _RBM["epochs"],
    learning_rate: float = _RBM["learning_rate"],
    momentum: float = _RBM["momentum"],
    weight_decay: float = _RBM["weight_decay"],
    cd_k: int = _RBM["cd_k"],
    device="cpu",
    seed: int = 0,
):
    """Initialise ``model``'s hidden layers by greedy RBM training, in place.

    Parameters
    ----------
    model : mgrfaults.systems.dnn.MLP
    batches : FrameBatches
        Training minibatches (standardised frames); ``batches.epoch(e)`` is iterated per epoch.
    epochs : int
        Epochs per layer.
    learning_rate, momentum, weight_decay : float
        CD-k updates with momentum; L2 decay on the weights.
    cd_k : int
        Gibbs steps of contrastive divergence.
    device : str or torch.device
        Where the RBMs are trained; ``model`` may be on any device (its weights are copied back).
    seed : int

    Returns
    -------
    list of float
        The final epoch's mean reconstruction error of each layer.
    """
    device = torch.device(device)
    gen = torch.Generator(device=device).manual_seed(int(seed))
    errors = []
    n_hidden_layers = len(model.hidden_units)
    for li in range(n_hidden_layers):
        layer = model.layers[li]
        # the trained layers below, on the batches' device whatever device the model is on
        lowers = [(low.weight.detach().to(device), low.bias.detach().to(device)) for low in model.layers[:li]]
        W = layer.weight.detach().clone().to(device)
        b_hid = torch.zeros(layer.out_features, device=device)
        b_vis = torch.zeros(layer.in_features, device=device)
        vel = [torch.zeros_like(W), torch.zeros_like(b_vis), torch.zeros_like(b_hid)]
        for epoch in range(int(epochs)):
            errs = []
            for x, _ in batches.epoch(10_000 + 100 * li + epoch):
                v0 = torch.as_tensor(np.ascontiguousarray(x), device=device)
                with torch.no_grad():
                    for w_low, b_low in lowers:  # propagate through the RBMs below (probabilities)
                        v0 = torch.sigmoid(torch.nn.functional.linear(v0, w_low, b_low))
                    dW, db_vis, db_hid, err = cd_update(W, b_vis, b_hid, v0, li == 0, cd_k, gen)
                    for vbuf, grad, param in zip(vel, (dW - weight_decay * W, db_vis, db_hid), (W, b_vis, b_hid)):
                        vbuf.mul_(momentum).add_(grad, alpha=learning_rate)
                        param.add_(vbuf)
                errs.append(err)
        errors.append(float(np.mean(errs)) if errs else float("nan"))
        with torch.no_grad():
            layer.weight.copy_(W.to(layer.weight.device))
            layer.bias.copy_(b_hid.to(layer.bias.device))
    return errors
