"""Practice cgan: the lecture's conditional GAN (Mirza & Osindero, 2014) for MNIST digits.

A generator G turns noise z and a digit label y into an image; a discriminator D tells real
images of digit y from generated ones. Both see the label, so G learns to draw the digit it is
asked for. The networks are the paper's fully connected ones, with maxout units in D and
dropout 0.5 in both.

Conventions used everywhere in this file:

    z        noise, (B, 100) float32, drawn from N(0, 1)
    labels   digit classes, (B,) int64 in 0..9; each network turns them into one-hot vectors
             (B, 10) itself, with F.one_hot(labels, 10).float()
    images   (B, 1, 28, 28) float32 in [0, 1]: G ends in a sigmoid, so real images are fed as
             pixels / 255 (not normalised with MNIST's mean and std as for the classifier)
    D(x|y)   (B, 1) probabilities in (0, 1) that x is a real image of digit y: D ends in a
             sigmoid, and the losses take these probabilities (binary cross-entropy on
             probabilities, F.binary_cross_entropy, never the "with_logits" version)

Training is the two-player game min_G max_D  E[log D(x|y)] + E[log(1 - D(G(z|y)|y))], played
one step each per batch: a discriminator update, then a generator update.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

NZ = 100  # noise size
CLASSES = 10


class Maxout(nn.Module):
    """A maxout layer: one linear map to units * pieces values, then the max over each unit's pieces.

    x: (B, in_features) -> (B, units). Output unit j is the largest of the linear outputs
    j * pieces, j * pieces + 1, ..., j * pieces + pieces - 1: reshape the linear output
    (B, units * pieces) to (B, units, pieces) and take the max over the last dimension.
    The layer is one nn.Linear(in_features, units * pieces) (weight and bias) and nothing else.
    """

    def __init__(self, in_features: int, units: int, pieces: int) -> None:
        super().__init__()
        # TODO cgan.1: build Maxout.__init__ (one nn.Linear to units * pieces outputs)
        ### BEGIN SOLUTION
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, in_features) -> (B, units), the max over each unit's pieces."""
        # TODO cgan.1: implement Maxout.forward
        ### BEGIN SOLUTION
        pieces = self.linear(x).view(x.shape[0], self.units, self.pieces)  # (B, units, pieces)
        return pieces.max(dim=2).values  # (B, units)
        ### END SOLUTION


class Generator(nn.Module):
    """G(z|y): noise (B, nz) and labels (B,) -> images (B, 1, 28, 28) in [0, 1].

    Layers (any attribute names; the label path may run before the noise path):
      z (B, nz)           -> Linear(nz, 200), ReLU                    (B, 200)
      one-hot y (B, 10)   -> Linear(10, 1000), ReLU                   (B, 1000)
      joined: torch.cat([noise features, label features], dim=1)      (B, 1200), noise first
                          -> Linear(1200, 1200), ReLU, Dropout(0.5)   (B, 1200)
                          -> Linear(1200, 784), sigmoid               (B, 784)
      reshaped to (B, 1, 28, 28).
    The paper says the two hidden layers are "combined ... mapped to a second, combined hidden ReLU
    layer of dimensionality 1200"; we read that as a learned Linear(1200, 1200) on the joined
    vector. With nz = 100: 2,413,984 parameters.
    """

    def __init__(self, nz: int = NZ) -> None:
        super().__init__()
        # TODO cgan.2: build the layers of Generator.__init__
        ### BEGIN SOLUTION
        self.noise = nn.Linear(nz, 200)
        self.label = nn.Linear(CLASSES, 1000)
        self.joint = nn.Linear(1200, 1200)
        self.dropout = nn.Dropout(0.5)
        self.out = nn.Linear(1200, 28 * 28)
        ### END SOLUTION

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """z: (B, nz) float32, labels: (B,) int64 -> (B, 1, 28, 28) in [0, 1]. Stages above."""
        # TODO cgan.2: implement Generator.forward
        ### BEGIN SOLUTION
        y = F.one_hot(labels, CLASSES).float()  # (B, 10)
        h = torch.cat([F.relu(self.noise(z)), F.relu(self.label(y))], dim=1)  # (B, 1200)
        h = self.dropout(F.relu(self.joint(h)))  # (B, 1200)
        return torch.sigmoid(self.out(h)).view(-1, 1, 28, 28)  # (B, 1, 28, 28)
        ### END SOLUTION


class Discriminator(nn.Module):
    """D(x|y): images (B, 1, 28, 28) and labels (B,) -> (B, 1) probabilities that x is real.

    Layers (any attribute names; the label path may run before the image path):
      x flattened (B, 784) -> Maxout(784, 240 units, 5 pieces), Dropout(0.5)   (B, 240)
      one-hot y (B, 10)    -> Maxout(10, 50 units, 5 pieces), Dropout(0.5)     (B, 50)
      joined: torch.cat([image features, label features], dim=1)              (B, 290), image first
                           -> Maxout(290, 240 units, 4 pieces), Dropout(0.5)   (B, 240)
                           -> Linear(240, 1), sigmoid                          (B, 1)
    The head is a sigmoid: D returns probabilities, not logits. 1,224,351 parameters.
    """

    def __init__(self) -> None:
        super().__init__()
        # TODO cgan.3: build the layers of Discriminator.__init__
        ### BEGIN SOLUTION
        self.image = Maxout(28 * 28, 240, 5)
        self.label = Maxout(CLASSES, 50, 5)
        self.joint = Maxout(290, 240, 4)
        self.dropout = nn.Dropout(0.5)
        self.out = nn.Linear(240, 1)
        ### END SOLUTION

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """x: (B, 1, 28, 28) in [0, 1], labels: (B,) int64 -> (B, 1) in (0, 1). Stages above."""
        # TODO cgan.3: implement Discriminator.forward
        ### BEGIN SOLUTION
        y = F.one_hot(labels, CLASSES).float()  # (B, 10)
        h = torch.cat([self.dropout(self.image(x.flatten(1))), self.dropout(self.label(y))], dim=1)  # (B, 290)
        h = self.dropout(self.joint(h))  # (B, 240)
        return torch.sigmoid(self.out(h))  # (B, 1)
        ### END SOLUTION


def discriminator_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss, a scalar tensor: L_D = -mean log D(x|y) - mean log(1 - D(G(z|y)|y)).

    d_real: (B, 1) probabilities D gave real images, d_fake: (B, 1) probabilities it gave
    generated ones. Minimising L_D is maximising log D(x) + log(1 - D(G(z))): real -> 1, fake -> 0.
    It is binary cross-entropy with target 1 for the real, plus with target 0 for the fake
    (each a mean over the batch). The inputs are probabilities already: no sigmoid here. No
    epsilon inside the logs: log(p + eps) changes the gradient at D = p by the factor p / (p + eps)
    (F.binary_cross_entropy instead clamps each log at -100, which only acts where p rounds to 0).
    """
    # TODO cgan.4: implement discriminator_loss
    ### BEGIN SOLUTION
    real = F.binary_cross_entropy(d_real, torch.ones_like(d_real))
    fake = F.binary_cross_entropy(d_fake, torch.zeros_like(d_fake))
    return real + fake
    ### END SOLUTION


def generator_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """The generator's non-saturating loss, a scalar tensor: L_G = -mean log D(G(z|y)|y).

    d_fake: (B, 1) probabilities D gave generated images. G maximises log D(G(z)) (binary
    cross-entropy with target 1) instead of minimising log(1 - D(G(z))): early in training D
    rejects G's images confidently, where log(1 - D) is flat and gives G almost no gradient,
    while -log D is steep. The input is a probability already: no sigmoid here, and no epsilon
    inside the log (see discriminator_loss).
    """
    # TODO cgan.5: implement generator_loss (non-saturating)
    ### BEGIN SOLUTION
    return F.binary_cross_entropy(d_fake, torch.ones_like(d_fake))
    ### END SOLUTION


def train_step(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
               images: torch.Tensor, labels: torch.Tensor, z: torch.Tensor) -> dict[str, float]:
    """One round of the game on one batch: a discriminator update, then a generator update.

    images: (B, 1, 28, 28) real digits in [0, 1], labels: (B,) int64, z: (B, nz) noise.
    Both models in training mode (G.train(), D.train()).
      1. Discriminator: zero its gradients; fake = G(z, labels) detached (D's loss must not reach
         G); L_D = discriminator_loss(D(images, labels), D(fake, labels)); backward; opt_d.step().
      2. Generator: zero its gradients; L_G = generator_loss(D(G(z, labels), labels)) with the
         updated D; backward; opt_g.step(). Only G's parameters change here.
    Returns Python floats: {"loss_d": L_D, "loss_g": L_G, "d_real": mean D(x|y),
    "d_fake": mean D(G(z|y)|y)}, where loss_d, d_real and d_fake are from step 1.
    """
    # TODO cgan.6: implement train_step
    ### BEGIN SOLUTION
    G.train()
    D.train()
    fake = G(z, labels)  # (B, 1, 28, 28)

    opt_d.zero_grad()
    d_real = D(images, labels)  # (B, 1)
    d_fake = D(fake.detach(), labels)  # (B, 1): no gradient into G
    loss_d = discriminator_loss(d_real, d_fake)
    loss_d.backward()
    opt_d.step()

    opt_g.zero_grad()
    loss_g = generator_loss(D(fake, labels))
    loss_g.backward()
    opt_g.step()
    return {"loss_d": loss_d.item(), "loss_g": loss_g.item(),
            "d_real": d_real.mean().item(), "d_fake": d_fake.mean().item()}
    ### END SOLUTION


def sample(G: nn.Module, labels: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Images of the given digits: G(z, labels) in evaluation mode, without gradients.

    labels: (N,) int64, z: (N, nz) -> (N, 1, 28, 28) in [0, 1]. Puts G in evaluation mode
    (G.eval(): dropout off, so the same z and labels always give the same images) and leaves it so.
    """
    # TODO cgan.7: implement sample
    ### BEGIN SOLUTION
    G.eval()
    with torch.no_grad():
        return G(z, labels)
    ### END SOLUTION
