"""A two-layer network trained on handwritten digits by SGD, every gradient from ad_compiler.

Run:  python examples/mlp_digits.py [--activation relu|sigmoid] [--epochs N] [--plot PATH]

The backpropagation lecture's section 4: layers a = x W + b, h = g(a); a softmax cross-entropy
loss averaged over the batch plus an L2 penalty on the weights; minibatch SGD, W <- W - alpha *
dloss/dW, one epoch being one pass over the training set. The loss below is plain NumPy (a batch
of samples in the rows of X); ad_compiler writes its gradient program once, on the first call,
and the training loop calls it for every minibatch. The data are scikit-learn's bundled
8 x 8 digit images (1797 of them, no download). To read the generated gradient code:
python examples/mlp_digits.py --show-source --epochs 0
"""

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tqdm import tqdm

from ad_compiler import value_and_grad

# -- the model: plain NumPy, batch in rows -------------------------------------------------------


def relu(a):
    return np.maximum(a, 0.0)


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def cross_entropy(S, y):
    """Mean softmax cross-entropy of the scores S (one row per sample) for the labels y.

    Subtracting each row's maximum leaves the softmax unchanged and keeps exp from overflowing.
    """
    S = S - np.max(S, axis=1, keepdims=True)
    E = np.exp(S)
    P = E / np.sum(E, axis=1, keepdims=True)
    n = S.shape[0]
    return -np.mean(np.log(P[np.arange(n), y]))


def loss_relu(W1, b1, W2, b2, X, y, lam):
    """Cross-entropy of a ReLU network plus the L2 penalty lam/2 (||W1||^2 + ||W2||^2)."""
    H = relu(X @ W1 + b1)
    S = H @ W2 + b2
    return cross_entropy(S, y) + 0.5 * lam * (np.sum(W1 ** 2) + np.sum(W2 ** 2))


def loss_sigmoid(W1, b1, W2, b2, X, y, lam):
    """Cross-entropy of a sigmoid network plus the L2 penalty lam/2 (||W1||^2 + ||W2||^2)."""
    H = sigmoid(X @ W1 + b1)
    S = H @ W2 + b2
    return cross_entropy(S, y) + 0.5 * lam * (np.sum(W1 ** 2) + np.sum(W2 ** 2))


LOSSES = {"relu": (loss_relu, relu), "sigmoid": (loss_sigmoid, sigmoid)}


def predict(params, X, activation):
    """The predicted class of each row of X."""
    W1, b1, W2, b2 = params
    return np.argmax(activation(X @ W1 + b1) @ W2 + b2, axis=1)


# -- data, initialization, training ---------------------------------------------------------------


def load_data(seed, test_size=0.25):
    """Digits scaled to [0, 1], split into train and test sets with the same class balance."""
    digits = load_digits()
    X = digits.data / 16.0
    return train_test_split(X, digits.target.astype(np.int64), test_size=test_size,
                            random_state=seed, stratify=digits.target)


def init_params(rng, n_in, n_hidden, n_out, activation):
    """Gaussian weights scaled by fan-in (He for ReLU, Glorot-like for sigmoid), zero biases."""
    gain = 2.0 if activation == "relu" else 1.0
    W1 = rng.normal(0.0, np.sqrt(gain / n_in), (n_in, n_hidden))
    W2 = rng.normal(0.0, np.sqrt(1.0 / n_hidden), (n_hidden, n_out))
    return [W1, np.zeros(n_hidden), W2, np.zeros(n_out)]


def train(args):
    rng = np.random.default_rng(args.seed)
    X_train, X_test, y_train, y_test = load_data(args.seed)
    loss, activation = LOSSES[args.activation]
    loss_and_grads = value_and_grad(loss, wrt=("W1", "b1", "W2", "b2"), backend=args.backend)
    params = init_params(rng, X_train.shape[1], args.hidden, 10, args.activation)
    print(f"digits: {len(X_train)} training and {len(X_test)} test images of "
          f"{X_train.shape[1]} pixels; network {X_train.shape[1]}-{args.hidden}-10 "
          f"({args.activation}), backend {args.backend}")

    start = time.perf_counter()
    loss_and_grads(*params, X_train[:args.batch], y_train[:args.batch], args.lam)
    first_call = time.perf_counter() - start
    print(f"first gradient call (differentiate and compile, or load from the cache): "
          f"{first_call:.1f} s")

    history = {"loss": [], "test_loss": [], "train_acc": [], "test_acc": []}
    start = time.perf_counter()
    bar = tqdm(range(args.epochs), desc=f"training ({args.activation})", unit="epoch")
    for _ in bar:
        # A shuffled pass over the training set in minibatches of `batch` samples (one or two
        # more in some), so that no tiny last batch takes a noisy step at the end of an epoch.
        order = rng.permutation(len(X_train))
        batch_losses = []
        for batch in np.array_split(order, max(len(order) // args.batch, 1)):
            value, grads = loss_and_grads(*params, X_train[batch], y_train[batch], args.lam)
            for p, g in zip(params, grads):
                p -= args.lr * g  # SGD: W <- W - alpha * dloss/dW
            batch_losses.append(value)
        history["loss"].append(float(np.mean(batch_losses)))
        history["test_loss"].append(float(loss(*params, X_test, y_test, args.lam)))
        history["train_acc"].append(float(np.mean(predict(params, X_train, activation) == y_train)))
        history["test_acc"].append(float(np.mean(predict(params, X_test, activation) == y_test)))
        bar.set_postfix(loss=f"{history['loss'][-1]:.4f}",
                        train_acc=f"{history['train_acc'][-1]:.3f}",
                        test_acc=f"{history['test_acc'][-1]:.3f}")
    bar.close()
    elapsed = time.perf_counter() - start

    train_acc = np.mean(predict(params, X_train, activation) == y_train)
    test_acc = np.mean(predict(params, X_test, activation) == y_test)
    print(f"{args.epochs} epochs of minibatch SGD (batch {args.batch}, lr {args.lr}, "
          f"lambda {args.lam}) in {elapsed:.1f} s")
    print(f"train accuracy: {train_acc:.4f}")
    print(f"test accuracy:  {test_acc:.4f}")
    if args.show_source:
        print("\nThe gradient program ad_compiler generated for the loss:\n")
        print(loss_and_grads.source_for(*params, X_train[:args.batch], y_train[:args.batch],
                                        args.lam))
    return history


def plot(history, args):
    """Loss and accuracy per epoch, side by side, into a PNG file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(epochs, history["loss"], label="training (mean over minibatches)")
    left.plot(epochs, history["test_loss"], label="test")
    left.set(xlabel="epoch", ylabel="loss", title="cross-entropy + L2 penalty")
    right.plot(epochs, history["train_acc"], label="training")
    right.plot(epochs, history["test_acc"], label="test")
    right.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"Digits, {args.hidden} hidden units ({args.activation}), SGD by ad_compiler")
    fig.tight_layout()
    fig.savefig(args.plot, dpi=100)
    plt.close(fig)
    print(f"saved the loss and accuracy curves to {args.plot}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activation", choices=("relu", "sigmoid"), default="relu",
                        help="the hidden layer's nonlinearity (default relu)")
    parser.add_argument("--hidden", type=int, default=64, help="hidden units (default 64)")
    parser.add_argument("--epochs", type=int, default=40,
                        help="passes over the training set (default 40)")
    parser.add_argument("--batch", type=int, default=32, help="minibatch size (default 32)")
    parser.add_argument("--lr", type=float, default=0.5, help="SGD step size alpha (default 0.5)")
    parser.add_argument("--lam", type=float, default=1e-4,
                        help="L2 penalty strength lambda (default 1e-4)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the split, weights, shuffling")
    parser.add_argument("--backend", choices=("numba", "python"), default="numba",
                        help="compile the gradients with numba (default) or run them as Python")
    parser.add_argument("--plot", default="mlp_digits.png",
                        help="where to save the curves (default mlp_digits.png)")
    parser.add_argument("--quick", action="store_true",
                        help="a fast check that everything runs: 3 epochs (overrides --epochs)")
    parser.add_argument("--show-source", action="store_true",
                        help="print the generated gradient program at the end")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs = 3
    return args


if __name__ == "__main__":
    arguments = parse_args()
    plot(train(arguments), arguments)
