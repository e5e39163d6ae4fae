"""Data for the practices: loaders, the fast batch path, and the `bootcamp data` commands.

    from grader.data import load_mnist, batches
    mnist = load_mnist()              # full MNIST if under the data root, else the embedded subset
    print(mnist.source)               # which data was used, in words
    loader = batches(mnist.train_images, mnist.train_labels, 64, mean=(0.1307,), std=(0.3081,))
    for images, labels in loader:     # one epoch
        ...                           # (64, 1, 28, 28) float32, (64,) int64

Loaders return uint8 `(N, C, H, W)` images and int64 `(N,)` labels; any bad input raises one
`DataError` naming the file and what is wrong with it.
"""

from grader.data.augment import shift
from grader.data.batches import Batches, batches
from grader.data.cifar import load_cifar10
from grader.paths import DATA_ROOT_ENV, data_root
from grader.data.mnist import MNIST_MEAN, MNIST_STD, load_mnist
from grader.data.pairs import load_pairs
from grader.data.sets import DataError, ImageSet, PairedSet

__all__ = [
    "DATA_ROOT_ENV",
    "Batches",
    "DataError",
    "MNIST_MEAN",
    "MNIST_STD",
    "ImageSet",
    "PairedSet",
    "batches",
    "data_root",
    "load_cifar10",
    "load_mnist",
    "load_pairs",
    "shift",
]
