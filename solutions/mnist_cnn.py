"""Practice mnist_cnn: a convolutional classifier for handwritten digits.

The lecture's first network: CONV -> BN -> ReLU blocks with pooling, then fully connected layers
and a softmax over the ten digits, trained with cross-entropy by the four steps of every training
loop: forward pass, loss, backward pass, update.

Shapes through the network, for a batch of B images:

    input                      (B, 1, 28, 28)   normalised pixels
    block 1: conv 3x3, 16 ch   (B, 16, 28, 28)  padding 1 keeps the size
             BN, ReLU
             max-pool 2x2      (B, 16, 14, 14)
    block 2: conv 3x3, 32 ch   (B, 32, 14, 14)
             BN, ReLU
             max-pool 2x2      (B, 32, 7, 7)
    flatten                    (B, 1568)        32 * 7 * 7
    fc 1568 -> 128, ReLU       (B, 128)
    fc 128 -> 10               (B, 10)          logits: softmax turns them into probabilities

The network returns logits, not probabilities: `F.cross_entropy` applies log-softmax itself, and
`predict_proba` applies softmax when probabilities are wanted.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class MnistCNN(nn.Module):
    """CONV-BN-ReLU classifier for (B, 1, 28, 28) digits; returns (B, 10) logits.

    Layers, in the order they run (any attribute names, any way of grouping them):
      Conv2d(1, 16, 3, padding=1), BatchNorm2d(16), ReLU, MaxPool2d(2),
      Conv2d(16, 32, 3, padding=1), BatchNorm2d(32), ReLU, MaxPool2d(2),
      flatten, Linear(1568, 128), ReLU, Linear(128, 10).
    Batch norm with PyTorch's defaults (eps 1e-5, momentum 0.1). 207,018 parameters in all.
    """

    def __init__(self) -> None:
        super().__init__()
        # TODO mnist_cnn.1: build the layers of MnistCNN.__init__
        ### BEGIN SOLUTION
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1),  # (B, 16, 28, 28)
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, 16, 14, 14)
            nn.Conv2d(16, 32, kernel_size=3, padding=1),  # (B, 32, 14, 14)
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, 32, 7, 7)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),  # (B, 1568)
            nn.Linear(32 * 7 * 7, 128),
            nn.ReLU(),
            nn.Linear(128, 10),  # (B, 10)
        )
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 1, 28, 28) float32 -> logits (B, 10). The stages are in the class docstring."""
        # TODO mnist_cnn.2: implement MnistCNN.forward
        ### BEGIN SOLUTION
        return self.classifier(self.features(x))
        ### END SOLUTION


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor,
               labels: torch.Tensor) -> float:
    """One step of training on one batch; returns the batch's loss as a Python float.

    images: (B, 1, 28, 28) float32, labels: (B,) int64 digit classes.
    The four steps: clear the old gradients (optimizer.zero_grad()), forward pass to logits,
    loss L = cross_entropy(logits, labels) (on logits: no softmax first), backward pass
    (L.backward()), update (optimizer.step()). The loss returned is the one computed before the
    update. The model is in training mode.
    """
    # TODO mnist_cnn.3: implement train_step
    ### BEGIN SOLUTION
    model.train()
    optimizer.zero_grad()
    logits = model(images)  # (B, 10)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    optimizer.step()
    return loss.item()
    ### END SOLUTION


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Accuracy in [0, 1]: the fraction of images whose largest logit is at their label.

    images: (N, 1, 28, 28) float32, labels: (N,) int64. Puts the model in evaluation mode
    (model.eval(): batch norm uses its running statistics and does not update them) and computes
    without gradients (torch.no_grad()). Returns a Python float.
    """
    # TODO mnist_cnn.4: implement evaluate
    ### BEGIN SOLUTION
    model.eval()
    with torch.no_grad():
        predictions = model(images).argmax(dim=1)  # (N,)
    return (predictions == labels).float().mean().item()
    ### END SOLUTION


def predict_proba(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Class probabilities (N, 10): softmax over each image's logits, p_k = exp(z_k) / sum_j exp(z_j).

    images: (N, 1, 28, 28) float32. In evaluation mode, without gradients; each row sums to 1.
    """
    # TODO mnist_cnn.5: implement predict_proba
    ### BEGIN SOLUTION
    model.eval()
    with torch.no_grad():
        return F.softmax(model(images), dim=1)  # (N, 10)
    ### END SOLUTION
