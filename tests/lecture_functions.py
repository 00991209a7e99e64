"""The lecture's functions, for the command-line tests and their golden files (tests/golden/)."""

import numpy as np


def circuit(x, y, z):
    q = x + y
    f = q * z
    return f


def neuron(w0, x0, w1, x1, w2):
    a = w0 * x0 + w1 * x1 + w2
    return 1.0 / (1.0 + np.exp(-a))


def neuron_arrays(w, x):
    return 1.0 / (1.0 + np.exp(-(w[0] * x[0] + w[1] * x[1] + w[2])))


def squared_norm(W, x):
    q = W @ x
    return np.sum(q * q)
