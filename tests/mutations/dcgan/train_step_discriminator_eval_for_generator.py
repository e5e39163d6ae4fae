# breaks: dcgan.7
# why: D is put in eval mode for the generator's step (batch norm on running statistics), train mode again after
"""Practice dcgan: the lecture's deep convolutional GAN (Radford, Metz & Chintala, 2016).

An unconditional GAN: the generator G turns noise z into an image, the discriminator D tells
real images from generated ones. Both networks are all-convolutional, as the paper prescribes:

  * no pooling: D downsamples with strided convolutions, G upsamples with strided transposed
    convolutions (5 x 5 kernels, stride 2, each doubling or halving the side);
  * no fully connected hidden layers: G's only linear map is the projection of z to the first
    4 x 4 feature map, D's only one is the final logit;
  * batch norm in both, except on G's output layer and D's input layer (nn.BatchNorm2d(channels)
    with PyTorch's defaults: eps 1e-5, momentum 0.1);
  * ReLU in G with tanh at the output, LeakyReLU(0.2) in D;
  * weights from N(0, 0.02); Adam with lr 2e-4 and beta1 = 0.5.

Conventions used everywhere in this file:

    z        noise, (B, nz) float32 from N(0, 1); the generator also accepts (B, nz, 1, 1)
    images   (B, nc, S, S) float32 in [-1, 1] (pixels / 127.5 - 1), S = image_size (32 or 64)
    D(x)     (B,) logits: D(x) = sigmoid(logit) is the probability that x is real

Training is the game min_G max_D  E[log D(x)] + E[log(1 - D(G(z)))], one step each per batch.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

NZ = 100  # noise size
KERNEL, STRIDE = 5, 2
SIZES = (32, 64)


def upsample_padding(kernel_size: int = KERNEL, stride: int = STRIDE) -> tuple[int, int]:
    """(padding, output_padding) that make ConvTranspose2d(kernel_size, stride) multiply the side by stride.

    A transposed convolution's output side is (see `conv_shapes.conv_transpose_output_size`)

        out = (in - 1) * stride - 2 * padding + kernel_size + output_padding.

    For out = stride * in at every input size: 2 * padding - output_padding = kernel_size - stride,
    with 0 <= output_padding < stride. Take the smallest such padding. For 5 x 5, stride 2: (2, 1);
    for 4 x 4, stride 2: (1, 0). Returns a tuple of two Python ints.
    """
    # TODO dcgan.1: implement upsample_padding
    ### BEGIN SOLUTION
    padding = math.ceil((kernel_size - stride) / 2)
    return padding, 2 * padding - (kernel_size - stride)
    ### END SOLUTION


def _depth(image_size: int) -> int:
    """L = log2(image_size / 4): the number of doublings from 4 x 4 to image_size."""
    if image_size not in SIZES:
        raise ValueError(f"image_size must be 32 or 64, not {image_size!r}")
    return int(math.log2(image_size // 4))


class Generator(nn.Module):
    """G(z): noise (B, nz) or (B, nz, 1, 1) -> images (B, nc, image_size, image_size) in [-1, 1].

    With L = log2(image_size / 4) (3 for 32 px, 4 for 64 px) and C = ngf * 2^(L-1):
      z (B, nz)  -> Linear(nz, C * 4 * 4, bias=False), viewed as (B, C, 4, 4)     (or, the same
                    map, ConvTranspose2d(nz, C, 4, bias=False) on z viewed as (B, nz, 1, 1))
                 -> BatchNorm2d(C), ReLU                                      (B, C, 4, 4)
      L - 1 times: ConvTranspose2d(c, c // 2, 5, stride 2, padding and output_padding from
                    upsample_padding(), bias=False), BatchNorm2d(c // 2), ReLU  side doubles
                 -> ConvTranspose2d(ngf, nc, 5, stride 2, same padding, with bias), tanh
                                                                  (B, nc, image_size, image_size)
    No bias on a layer followed by batch norm (BN's shift replaces it); no batch norm on the output.
    image_size other than 32 or 64: ValueError. Parameter counts: 64 px, ngf 64, nc 3: 5,126,723;
    ngf 128: 18,855,043; 32 px, ngf 64, nc 1: 1,436,097.
    """

    def __init__(self, nz: int = NZ, ngf: int = 64, nc: int = 3, image_size: int = 64) -> None:
        super().__init__()
        # TODO dcgan.2: build the layers of Generator.__init__
        ### BEGIN SOLUTION
        depth = _depth(image_size)
        channels = ngf * 2 ** (depth - 1)
        self.channels = channels
        self.project = nn.Linear(nz, channels * 4 * 4, bias=False)
        self.project_norm = nn.BatchNorm2d(channels)
        padding, output_padding = upsample_padding()
        blocks = []
        for _ in range(depth - 1):
            blocks += [nn.ConvTranspose2d(channels, channels // 2, KERNEL, STRIDE, padding, output_padding,
                                          bias=False),
                       nn.BatchNorm2d(channels // 2), nn.ReLU()]
            channels //= 2
        self.blocks = nn.Sequential(*blocks)
        self.out = nn.ConvTranspose2d(channels, nc, KERNEL, STRIDE, padding, output_padding)
        ### END SOLUTION

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: (B, nz) or (B, nz, 1, 1) -> (B, nc, image_size, image_size) in [-1, 1]. Stages above."""
        # TODO dcgan.2: implement Generator.forward
        ### BEGIN SOLUTION
        h = self.project(z.flatten(1)).view(-1, self.channels, 4, 4)  # (B, C, 4, 4)
        h = F.relu(self.project_norm(h))
        h = self.blocks(h)  # (B, ngf, S / 2, S / 2)
        return torch.tanh(self.out(h))  # (B, nc, S, S)
        ### END SOLUTION


class Discriminator(nn.Module):
    """D(x): images (B, nc, image_size, image_size) in [-1, 1] -> (B,) logits that x is real.

    The generator's mirror, with L = log2(image_size / 4):
      L blocks: Conv2d(c, c', 5, stride 2, padding 2), BatchNorm2d(c'), LeakyReLU(0.2), where
                c = nc, c' = ndf in the first block (no batch norm there, and the convolution has a
                bias) and c' = 2c after it (bias=False, batch norm)             side halves
      the last (B, ndf * 2^(L-1), 4, 4) feature map flattened -> Linear(ndf * 2^(L-1) * 16, 1)
      -> (B,) with .squeeze(1) or .view(-1).
    Logits, not the paper's sigmoid probabilities: the losses apply the sigmoid inside
    F.binary_cross_entropy_with_logits, which computes log(sigmoid(a)) as -softplus(-a), finite
    and with a useful gradient even where sigmoid(a) rounds to 0 or 1.
    Parameter counts: 64 px, ndf 64, nc 3: 4,315,649; 32 px, ndf 64, nc 1: 1,030,529.
    """

    def __init__(self, ndf: int = 64, nc: int = 3, image_size: int = 64) -> None:
        super().__init__()
        # TODO dcgan.3: build the layers of Discriminator.__init__
        ### BEGIN SOLUTION
        depth = _depth(image_size)
        layers: list[nn.Module] = [nn.Conv2d(nc, ndf, KERNEL, STRIDE, 2), nn.LeakyReLU(0.2)]
        channels = ndf
        for _ in range(depth - 1):
            layers += [nn.Conv2d(channels, 2 * channels, KERNEL, STRIDE, 2, bias=False),
                       nn.BatchNorm2d(2 * channels), nn.LeakyReLU(0.2)]
            channels *= 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels * 4 * 4, 1)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, nc, image_size, image_size) -> (B,) logits. Stages above."""
        # TODO dcgan.3: implement Discriminator.forward
        ### BEGIN SOLUTION
        h = self.features(x)  # (B, ndf * 2^(L-1), 4, 4)
        return self.head(h.flatten(1)).view(-1)  # (B,)
        ### END SOLUTION


def weights_init(module: nn.Module) -> None:
    """DCGAN's initialisation of one module, used as `model.apply(weights_init)`.

    Conv2d and ConvTranspose2d weights from N(0, 0.02) (their biases are left as they are);
    BatchNorm2d weights from N(1, 0.02) and biases 0. Other modules are left alone: nn.Linear (the
    generator's projection, the discriminator's logit) keeps PyTorch's own initialisation.
    """
    # TODO dcgan.4: implement weights_init
    ### BEGIN SOLUTION
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
    ### END SOLUTION


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss from logits, a scalar: L_D = -mean log s(a_real) - mean log(1 - s(a_fake)).

    real_logits, fake_logits: (B,) logits D gave real and generated images; s is the sigmoid.
    Binary cross-entropy with target 1 for the real, plus with target 0 for the fake (each a
    mean over the batch), computed from logits with F.binary_cross_entropy_with_logits: finite for
    any logit, also +-200, where sigmoid rounds to exactly 0 or 1 in float32.
    """
    # TODO dcgan.5: implement discriminator_loss
    ### BEGIN SOLUTION
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake
    ### END SOLUTION


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The generator's non-saturating loss from logits, a scalar: L_G = -mean log s(a_fake).

    fake_logits: (B,) logits D gave generated images. G maximises log D(G(z)) instead of
    minimising log(1 - D(G(z))), whose gradient s(a) vanishes exactly when D rejects the fakes
    confidently (early in training); -log s(a) has gradient -(1 - s(a)) there, close to -1.
    Binary cross-entropy with logits and target 1, finite for any logit: in float32 sigmoid(-200)
    rounds to 0, so -log(sigmoid(a)) written out is inf there (-log s(a) = softplus(-a) is not).
    """
    # TODO dcgan.6: implement generator_loss (non-saturating)
    ### BEGIN SOLUTION
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    ### END SOLUTION


def train_step(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
               real: torch.Tensor, z: torch.Tensor) -> dict[str, float]:
    """One round of the game on one batch: a discriminator update, then a generator update.

    real: (B, nc, S, S) images in [-1, 1], z: (B, nz) noise. Both models in training mode for the
    whole step (batch norm on each batch's statistics, also in D while G learns).
      0. fake = G(z), once: G runs once per step, used by both steps (a second G(z) would move
         G's batch-norm running statistics twice).
      1. Discriminator: zero its gradients; L_D = discriminator_loss(D(real), D(fake.detach()))
         (detached: D's loss must not reach G); backward; opt_d.step().
      2. Generator: zero its gradients; L_G = generator_loss(D(fake)) with the updated D (fake
         not detached); backward; opt_g.step(). Only G's parameters change here.
    Returns Python floats: {"loss_d": L_D, "loss_g": L_G, "d_real": mean sigmoid(D(real)),
    "d_fake": mean sigmoid(D(fake))}, where loss_d, d_real and d_fake are from step 1.
    """
    # TODO dcgan.7: implement train_step
    ### BEGIN SOLUTION
    G.train()
    D.train()
    fake = G(z)  # (B, nc, S, S)

    opt_d.zero_grad()
    real_logits = D(real)  # (B,)
    fake_logits = D(fake.detach())  # (B,): no gradient into G
    loss_d = discriminator_loss(real_logits, fake_logits)
    loss_d.backward()
    opt_d.step()

    opt_g.zero_grad()
    D.eval()  # D is only judged in the generator's step
    loss_g = generator_loss(D(fake))
    D.train()
    loss_g.backward()
    opt_g.step()
    return {"loss_d": loss_d.item(), "loss_g": loss_g.item(),
            "d_real": torch.sigmoid(real_logits).mean().item(), "d_fake": torch.sigmoid(fake_logits).mean().item()}
    ### END SOLUTION


def sample(G: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """G's images for noise z (N, nz): (N, nc, S, S), in evaluation mode, without gradients.

    Evaluation mode makes batch norm use its running statistics, so an image depends on its own z
    only. G is left in the mode it was found in (train mode stays train mode).
    """
    # TODO dcgan.8: implement sample
    ### BEGIN SOLUTION
    was_training = G.training
    G.eval()
    try:
        with torch.no_grad():
            return G(z)
    finally:
        G.train(was_training)
    ### END SOLUTION


def interpolate(G: nn.Module, z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """Images along the straight line from z0 to z1 (each (nz,)): (steps, nc, S, S).

    z_i = (1 - t_i) * z0 + t_i * z1 with t_i = i / (steps - 1), i = 0 .. steps - 1 (so the first
    image is G(z0) and the last G(z1); torch.linspace(0, 1, steps)), drawn like `sample`: eval
    mode, no gradients, G's mode restored.
    """
    # TODO dcgan.9: implement interpolate
    ### BEGIN SOLUTION
    t = torch.linspace(0, 1, steps, device=z0.device).unsqueeze(1)  # (steps, 1)
    return sample(G, (1 - t) * z0.reshape(1, -1) + t * z1.reshape(1, -1))  # (steps, nc, S, S)
    ### END SOLUTION
