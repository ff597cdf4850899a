"""A small PyTorch model as a custom system: an MLP on log-compressed STFT frames.

Training: a fresh random subset of frames of each training excerpt per epoch, Adam, and the epoch
with the best excerpt accuracy on the validation part is kept. An excerpt's scores are the mean of
its frames' log-probabilities. Config: ``input: frames``, ``params: {hidden, epochs, frames_per_excerpt, lr}``.
"""

import copy

import numpy as np
import torch
from torch import nn


class FramesMLP:
    def __init__(self, context, hidden=64, epochs=10, frames_per_excerpt=64, lr=1e-3, batch_size=256):
        self.context = context
        self.epochs, self.frames_per_excerpt, self.lr, self.batch_size = epochs, frames_per_excerpt, lr, batch_size
        self.hidden = hidden
        self.rng = np.random.default_rng(context.seed)  # torch is seeded by the workflow before build()
        self.device = torch.device(context.device)

    def _inputs(self, frames):
        x = torch.from_numpy(np.log1p(np.asarray(frames, dtype=np.float32)))
        return ((x - self.mean) / self.std).to(self.device)

    def _excerpt_scores(self, part):
        self.model.eval()
        with torch.no_grad():
            return np.stack([
                torch.log_softmax(self.model(self._inputs(frames)), dim=1).mean(dim=0).cpu().numpy() for frames in part
            ])

    def fit(self, train, valid):
        frames = list(train)  # part[i]: (n_frames, n_bins) of excerpt i
        stacked = np.log1p(np.concatenate(frames))
        self.mean = torch.from_numpy(stacked.mean(axis=0))
        self.std = torch.from_numpy(stacked.std(axis=0) + 1e-6)
        n_bins, n_genres = stacked.shape[1], len(self.context.genres)
        self.model = nn.Sequential(
            nn.Linear(n_bins, self.hidden), nn.ReLU(), nn.Linear(self.hidden, self.hidden), nn.ReLU(),
            nn.Linear(self.hidden, n_genres),
        ).to(self.device)
        opt = torch.optim.Adam(self.model.parameters(), lr=self.lr)
        best = (-1.0, None)
        for _ in range(self.epochs):
            rows = [self.rng.choice(len(f), min(len(f), self.frames_per_excerpt), replace=False) for f in frames]
            x = self._inputs(np.concatenate([f[r] for f, r in zip(frames, rows)]))
            y = torch.from_numpy(np.repeat(train.labels, [len(r) for r in rows])).to(self.device)
            order = torch.from_numpy(self.rng.permutation(len(y))).to(self.device)
            self.model.train()
            for start in range(0, len(y), self.batch_size):
                batch = order[start:start + self.batch_size]
                opt.zero_grad()
                nn.functional.cross_entropy(self.model(x[batch]), y[batch]).backward()
                opt.step()
            valid_accuracy = float(np.mean(self._excerpt_scores(valid).argmax(axis=1) == valid.labels))
            if valid_accuracy > best[0]:
                best = (valid_accuracy, copy.deepcopy(self.model.state_dict()))
        self.model.load_state_dict(best[1])

    def predict(self, test):
        return self._excerpt_scores(test)


def build(context, **params):
    return FramesMLP(context, **params)
