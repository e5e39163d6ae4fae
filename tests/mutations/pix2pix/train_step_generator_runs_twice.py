# breaks: pix2pix.6
# why: G(inputs) is run again for the generator's step: another dropout mask, batch norm moved twice
"""Practice pix2pix: image-to-image translation with a conditional GAN (Isola et al., 2017).

A generator G turns an input image x (an edge map, a facade's label map) into an image G(x) of
the same size; a discriminator D looks at the input together with an output and tells, for every
70x70 patch, whether the pair is real (x, y) or made by G (x, G(x)). G is trained to fool D and to
stay close to the target in L1:

    G* = arg min_G max_D  L_cGAN(G, D) + lambda * L_L1(G),   lambda = 100
    L_cGAN = E[log D(x, y)] + E[log(1 - D(x, G(x)))],         L_L1 = E[|y - G(x)|]

Conventions used everywhere in this file:

    inputs   x, (B, 3, H, W) float32 in [-1, 1] (pixels / 127.5 - 1); H and W divisible by 2^depth
    targets  y, (B, 3, H, W) float32 in [-1, 1]
    G(x)     (B, 3, H, W) in (-1, 1): G ends in tanh
    D(x, y)  (B, 1, H', W') logits, one per patch (no sigmoid: the losses take logits and use
             F.binary_cross_entropy_with_logits); D concatenates its two arguments itself,
             torch.cat([x, y], dim=1), input first: a (B, 6, H, W) pair

Building blocks (all convolutions 4x4, padding 1; stride 2 unless said otherwise):
    Ck   convolution with k filters - batch norm - activation
    CDk  the same with dropout 0.5 after the batch norm
Batch norm is nn.BatchNorm2d(k) with PyTorch's defaults (eps 1e-5, momentum 0.1); dropout is
element-wise, nn.Dropout(0.5) (each value zeroed with probability 0.5, not whole channels).
The encoder's activations are LeakyReLU(0.2), the decoder's ReLU, as in the authors' code, where
each block applies its activation to its input before the convolution.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class UNetGenerator(nn.Module):
    """G(x): (B, in_channels, H, W) -> (B, out_channels, H, W) in (-1, 1); a U-Net.

    Encoder, `depth` blocks, each halving the size; block i has ngf * min(2^i, 8) filters
    (depth 8, ngf 64: C64-C128-C256-C512-C512-C512-C512-C512, 256x256 down to 1x1):
      block 0:          Conv2d(in_channels, ngf, 4, 2, 1, bias=False)       (no norm, no activation before)
      block i (middle): LeakyReLU(0.2) - Conv2d(4, 2, 1, bias=False) - BatchNorm2d
      block depth-1:    LeakyReLU(0.2) - Conv2d(4, 2, 1, bias=False)         (innermost: no norm)
    Decoder, `depth - 1` blocks, each doubling the size, in run order j = 0 (innermost) .. depth-2;
    block j outputs as many channels as encoder block depth-2-j, which it is joined with:
      ReLU - ConvTranspose2d(4, 2, 1, bias=False) - BatchNorm2d [- Dropout(0.5) for j < depth - 5]
      then the skip connection: torch.cat([encoder output, decoder output], dim=1), encoder first
      (dropout acts on the decoder's output only, before the join: the skip features are kept).
    Block 0 reads the innermost encoder output alone; block j > 0 reads the previous joined map
    (twice its predecessor's channels). (depth 8, ngf 64: CD512-CD512-CD512-C512-C256-C128-C64.)
    Output: ReLU - ConvTranspose2d(2 * ngf, out_channels, 4, 2, 1) (the only bias) - tanh.

    Dropout is in the first depth - 5 decoder blocks: 3 at depth 8 (the paper's appendix; the
    authors' code puts them one block later), 1 at depth 6. Parameters: 54,413,955 at depth 8,
    ngf 64 (the authors' unet_256); 29,244,035 at depth 6, ngf 64; 7,314,755 at depth 6, ngf 32.

    Dropout is the generator's only noise: the paper keeps it on at test time (and uses batch
    statistics there too, with batches of one), which makes the outputs vary only slightly. Here
    `translate` uses evaluation mode instead: no dropout, batch norm's running statistics, the
    same output for the same input.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, depth: int = 8) -> None:
        super().__init__()
        # TODO pix2pix.1: build the encoder and decoder blocks of UNetGenerator.__init__
        ### BEGIN SOLUTION
        if depth < 2:
            raise ValueError(f"depth must be at least 2, got {depth}")
        self.depth = depth
        widths = [ngf * min(2 ** i, 8) for i in range(depth)]  # encoder block i's filters
        self.encoder = nn.ModuleList([nn.Conv2d(in_channels, widths[0], 4, 2, 1, bias=False)])
        for i in range(1, depth):
            layers = [nn.LeakyReLU(0.2), nn.Conv2d(widths[i - 1], widths[i], 4, 2, 1, bias=False)]
            if i < depth - 1:
                layers.append(nn.BatchNorm2d(widths[i]))
            self.encoder.append(nn.Sequential(*layers))
        self.decoder = nn.ModuleList()
        for j in range(depth - 1):
            reads = widths[-1] if j == 0 else 2 * widths[depth - 1 - j]
            writes = widths[depth - 2 - j]
            layers = [nn.ReLU(), nn.ConvTranspose2d(reads, writes, 4, 2, 1, bias=False), nn.BatchNorm2d(writes)]
            if j < depth - 5:
                layers.append(nn.Dropout(0.5))
            self.decoder.append(nn.Sequential(*layers))
        self.output = nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(2 * widths[0], out_channels, 4, 2, 1), nn.Tanh())
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, in_channels, H, W) -> (B, out_channels, H, W) in (-1, 1).

        Raises ValueError when H or W is not divisible by 2^depth (the innermost map would not
        be a whole number of pixels).
        """
        # TODO pix2pix.1: implement UNetGenerator.forward (encoder, decoder with skip connections, tanh)
        ### BEGIN SOLUTION
        side = 2 ** self.depth
        if x.shape[-2] % side or x.shape[-1] % side:
            raise ValueError(f"UNetGenerator(depth={self.depth}) needs a height and width divisible by {side}, "
                             f"got {tuple(x.shape[-2:])}")
        skips = []
        h = x
        for block in self.encoder:
            h = block(h)  # (B, widths[i], H / 2^(i+1), W / 2^(i+1))
            skips.append(h)
        for j, block in enumerate(self.decoder):
            h = torch.cat([skips[self.depth - 2 - j], block(h)], dim=1)  # (B, 2 * widths[depth-2-j], ...)
        return self.output(h)  # (B, out_channels, H, W)
        ### END SOLUTION


class PatchDiscriminator(nn.Module):
    """D(x, y): inputs (B, 3, H, W) and images (B, 3, H, W) -> patch logits (B, 1, H', W').

    The pair is joined first, torch.cat([x, y], dim=1) (B, in_channels, H, W), then
    (all 4x4 convolutions with padding 1, LeakyReLU(0.2) after each but the last):
      Conv2d(in_channels, ndf, stride 2) (with bias, no norm)
      n_layers - 1 times: Conv2d(stride 2, bias=False) - BatchNorm2d, filters ndf * min(2^n, 8)
      Conv2d(stride 1, bias=False) - BatchNorm2d, filters ndf * min(2^n_layers, 8)
      Conv2d(to 1 channel, stride 1) (with bias): the logits, no sigmoid
    n_layers 3: C64-C128-C256-C512 and the 1-channel convolution; a 256x256 pair gives 30x30
    logits, each looking at a 70x70 patch (`patch_receptive_field(3)`). 2,768,705 parameters at
    ndf 64, n_layers 3; 696,225 at ndf 32.
    """

    def __init__(self, in_channels: int = 6, ndf: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        # TODO pix2pix.2: build the layers of PatchDiscriminator.__init__
        ### BEGIN SOLUTION
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2)]
        width = ndf
        for n in range(1, n_layers + 1):
            wider = ndf * min(2 ** n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(width, wider, 4, stride, 1, bias=False), nn.BatchNorm2d(wider), nn.LeakyReLU(0.2)]
            width = wider
        layers.append(nn.Conv2d(width, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)
        ### END SOLUTION

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x: (B, 3, H, W) inputs, y: (B, 3, H, W) real or generated images -> (B, 1, H', W') logits."""
        # TODO pix2pix.2: implement PatchDiscriminator.forward (join the pair, then the layers)
        ### BEGIN SOLUTION
        return self.model(torch.cat([x, y], dim=1))  # (B, 1, H', W')
        ### END SOLUTION


def patch_receptive_field(n_layers: int = 3) -> int:
    """The side, in input pixels, of the patch one logit of PatchDiscriminator(n_layers=...) sees.

    The layers are n_layers 4x4 convolutions with stride 2, then two with stride 1; use the
    formula of `conv_shapes.receptive_field`: r = 1 + sum_l (k_l - 1) prod_{j<l} s_j.
    n_layers 1: 16, 3: 70, 5: 286.
    """
    # TODO pix2pix.3: implement patch_receptive_field
    ### BEGIN SOLUTION
    field, jump = 1, 1
    for stride in [2] * n_layers + [1, 1]:
        field += 3 * jump
        jump *= stride
    return field
    ### END SOLUTION


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss, a scalar: L_D = (BCE(D(x, y), 1) + BCE(D(x, G(x)), 0)) / 2.

    real_logits: D's patch logits (B, 1, H', W') for real pairs, fake_logits for generated ones.
    Each BCE is binary cross-entropy with logits, averaged over every patch of every pair
    (F.binary_cross_entropy_with_logits with targets of ones and zeros). The sum is halved, as in
    the paper, which slows D down relative to G.
    """
    # TODO pix2pix.4: implement discriminator_loss
    ### BEGIN SOLUTION
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return 0.5 * (real + fake)
    ### END SOLUTION


def generator_loss(fake_logits: torch.Tensor, fake: torch.Tensor, target: torch.Tensor,
                   lambda_l1: float = 100.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The generator's loss and its two parts, scalars: (total, gan, l1).

    fake_logits: D's patch logits (B, 1, H', W') for the pairs (x, G(x)); fake: G(x) and target:
    y, both (B, 3, H, W).
        gan   = BCE(D(x, G(x)), 1), with logits, averaged over patches (non-saturating); finite for
                any logit (F.binary_cross_entropy_with_logits: in float32 sigmoid(-200) is 0, so
                -log(sigmoid(a)) written out is inf there)
        l1    = mean |G(x) - y| over every pixel and channel (a mean absolute error)
        total = gan + lambda_l1 * l1
    """
    # TODO pix2pix.5: implement generator_loss
    ### BEGIN SOLUTION
    gan = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    l1 = (fake - target).abs().mean()
    return gan + lambda_l1 * l1, gan, l1
    ### END SOLUTION


def train_step(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
               inputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
    """One round on one batch of pairs: a discriminator update, then a generator update.

    inputs: x (B, 3, H, W), targets: y (B, 3, H, W). Both models in training mode.
      1. fake = G(x) (once, used by both steps).
      2. Discriminator: zero its gradients; L_D = discriminator_loss(D(x, y), D(x, fake.detach()))
         (detached: D's loss must not reach G); backward; opt_d.step().
      3. Generator: zero its gradients; (L_G, gan, l1) = generator_loss(D(x, fake), fake, y) with the
         updated D; backward L_G; opt_g.step().
    Returns Python floats: {"loss_d": L_D, "loss_g": L_G, "loss_g_gan": gan, "loss_g_l1": l1}.
    """
    # TODO pix2pix.6: implement train_step
    ### BEGIN SOLUTION
    G.train()
    D.train()
    fake = G(inputs)  # (B, 3, H, W)

    opt_d.zero_grad()
    loss_d = discriminator_loss(D(inputs, targets), D(inputs, fake.detach()))
    loss_d.backward()
    opt_d.step()

    opt_g.zero_grad()
    fake = G(inputs)
    loss_g, gan, l1 = generator_loss(D(inputs, fake), fake, targets)
    loss_g.backward()
    opt_g.step()
    return {"loss_d": loss_d.item(), "loss_g": loss_g.item(), "loss_g_gan": gan.item(), "loss_g_l1": l1.item()}
    ### END SOLUTION


def translate(G: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """G's outputs for `inputs` (B, 3, H, W): (B, 3, H, W) in (-1, 1), without gradients.

    Puts G in evaluation mode (dropout off, batch norm's running statistics: the same input always
    gives the same output) and leaves it so. See UNetGenerator for why the paper does otherwise.
    """
    # TODO pix2pix.7: implement translate
    ### BEGIN SOLUTION
    G.eval()
    with torch.no_grad():
        return G(inputs)
    ### END SOLUTION
