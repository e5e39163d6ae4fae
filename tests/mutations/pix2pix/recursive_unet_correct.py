# correct
# why: the authors' recursive U-Net (each block wraps the next), D built as a list, losses from nn modules
"""pix2pix written the way the authors' code is organised."""

import torch
import torch.nn as nn


class Block(nn.Module):
    """One U-Net level: down, the inner levels, up; returns [x, up(...)] except at the outermost."""

    def __init__(self, outer, inner, inner_block=None, *, in_channels=None, outermost=False, dropout=False):
        super().__init__()
        self.outermost = outermost
        in_channels = in_channels or outer
        down = nn.Conv2d(in_channels, inner, kernel_size=4, stride=2, padding=1, bias=False)
        if outermost:
            up = nn.ConvTranspose2d(inner * 2, outer, kernel_size=4, stride=2, padding=1)
            parts = [down, inner_block, nn.ReLU(True), up, nn.Tanh()]
        elif inner_block is None:
            up = nn.ConvTranspose2d(inner, outer, kernel_size=4, stride=2, padding=1, bias=False)
            parts = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), up, nn.BatchNorm2d(outer)]
        else:
            up = nn.ConvTranspose2d(inner * 2, outer, kernel_size=4, stride=2, padding=1, bias=False)
            parts = [nn.LeakyReLU(0.2, True), down, nn.BatchNorm2d(inner), inner_block, nn.ReLU(True), up,
                     nn.BatchNorm2d(outer)]
        if dropout:
            parts.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*parts)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class UNetGenerator(nn.Module):
    def __init__(self, in_channels=3, out_channels=3, ngf=64, depth=8):
        super().__init__()
        self.side = 2 ** depth
        widths = [ngf * min(2 ** i, 8) for i in range(depth)]
        # innermost first; the decoder's first depth - 5 blocks (counted from the inside) drop out
        block = Block(widths[-2], widths[-1], dropout=0 < depth - 5)
        for level in range(depth - 2, 0, -1):  # decoder block depth - 1 - level, counted from the inside
            block = Block(widths[level - 1], widths[level], block, dropout=depth - 1 - level < depth - 5)
        self.model = Block(out_channels, widths[0], block, in_channels=in_channels, outermost=True)

    def forward(self, x):
        if x.shape[2] % self.side or x.shape[3] % self.side:
            raise ValueError(f"height and width must be multiples of {self.side}")
        return self.model(x)


class PatchDiscriminator(nn.Module):
    def __init__(self, in_channels=6, ndf=64, n_layers=3):
        super().__init__()
        seq = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            seq += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * mult),
                    nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2 ** n_layers, 8)
        seq += [nn.Conv2d(ndf * prev, ndf * mult, 4, 1, 1, bias=False), nn.BatchNorm2d(ndf * mult),
                nn.LeakyReLU(0.2, True), nn.Conv2d(ndf * mult, 1, 4, 1, 1)]
        self.model = nn.Sequential(*seq)

    def forward(self, x, y):
        return self.model(torch.cat((x, y), 1))


def patch_receptive_field(n_layers=3):
    field = 4
    for stride in reversed([2] * n_layers + [1]):
        field = (field - 1) * stride + 4
    return field


_bce = nn.BCEWithLogitsLoss()
_l1 = nn.L1Loss()


def discriminator_loss(real_logits, fake_logits):
    return (_bce(real_logits, torch.ones_like(real_logits)) + _bce(fake_logits, torch.zeros_like(fake_logits))) * 0.5


def generator_loss(fake_logits, fake, target, lambda_l1=100.0):
    gan = _bce(fake_logits, torch.ones_like(fake_logits))
    l1 = _l1(fake, target)
    return gan + l1 * lambda_l1, gan, l1


def train_step(G, D, opt_g, opt_d, inputs, targets):
    G.train()
    D.train()
    fake = G(inputs)
    for p in D.parameters():
        p.requires_grad_(True)
    opt_d.zero_grad()
    loss_d = discriminator_loss(D(inputs, targets), D(inputs, fake.detach()))
    loss_d.backward()
    opt_d.step()
    for p in D.parameters():  # as the authors do: no gradients into D while G learns
        p.requires_grad_(False)
    opt_g.zero_grad()
    loss_g, gan, l1 = generator_loss(D(inputs, fake), fake, targets)
    loss_g.backward()
    opt_g.step()
    for p in D.parameters():
        p.requires_grad_(True)
    return {"loss_d": float(loss_d), "loss_g": float(loss_g), "loss_g_gan": float(gan), "loss_g_l1": float(l1)}


@torch.no_grad()
def translate(G, inputs):
    G.eval()
    return G(inputs)
