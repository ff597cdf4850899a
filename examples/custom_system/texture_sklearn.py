"""A scikit-learn pipeline as a custom system: MFCC texture windows -> standardise -> logistic regression.

Each texture window of a training or validation excerpt is one example (nothing here is selected on the
validation part, so its excerpts are more data, as the study's forests on learned features take them); an
excerpt's scores are the mean of its windows' class probabilities. Config: ``input: texture``,
``params: {C: ...}``, and ``fit_on: train_valid``, which has the attribution count the validation part seen.
"""

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


class TextureLogReg:
    def __init__(self, context, C=1.0):
        self.n_genres = len(context.genres)
        self.pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))

    def fit(self, train, valid):
        windows = list(train) + list(valid)  # part[i]: (n_windows, dim) of excerpt i
        x = np.concatenate(windows)
        y = np.repeat(np.concatenate([train.labels, valid.labels]), [len(w) for w in windows])
        self.pipeline.fit(x, y)

    def predict(self, test):
        scores = np.zeros((len(test), self.n_genres))
        for i, windows in enumerate(test):
            # classes_ may miss a genre absent from a tiny training part: fill only the known columns
            scores[i, self.pipeline.classes_] = self.pipeline.predict_proba(windows).mean(axis=0)
        return scores


def build(context, C=1.0):
    return TextureLogReg(context, C=C)
