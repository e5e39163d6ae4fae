# correct
# why: pytorch/examples style: nn.Sequential with nn.Unflatten, classname-based weights_init, an nn.BCEWithLogitsLoss object, models' own zero_grad()
import math

import torch
import torch.nn as nn

criterion = nn.BCEWithLogitsLoss()


def upsample_padding(kernel_size=5, stride=2):
    for padding in range(kernel_size):
        output_padding = 2 * padding - (kernel_size - stride)
        if 0 <= output_padding < stride:
            return (padding, output_padding)


class Generator(nn.Module):
    def __init__(self, nz=100, ngf=64, nc=3, image_size=64):
        super().__init__()
        if image_size not in (32, 64):
            raise ValueError("image_size must be 32 or 64")
        L = int(math.log2(image_size / 4))
        c = ngf * 2 ** (L - 1)
        p, op = upsample_padding(5, 2)
        layers = [nn.Flatten(), nn.Linear(nz, c * 16, bias=False), nn.Unflatten(1, (c, 4, 4)), nn.BatchNorm2d(c),
                  nn.ReLU(True)]
        for _ in range(L - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 5, 2, p, op, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, nc, 5, 2, p, op), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, input):
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self, ndf=64, nc=3, image_size=64):
        super().__init__()
        if image_size not in (32, 64):
            raise ValueError("image_size must be 32 or 64")
        L = int(math.log2(image_size / 4))
        layers = [nn.Conv2d(nc, ndf, 5, 2, 2), nn.LeakyReLU(0.2, inplace=True)]
        c = ndf
        for _ in range(L - 1):
            layers += [nn.Conv2d(c, 2 * c, 5, 2, 2, bias=False), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2, inplace=True)]
            c *= 2
        layers += [nn.Flatten(), nn.Linear(c * 16, 1)]
        self.main = nn.Sequential(*layers)

    def forward(self, input):
        return self.main(input).squeeze(1)


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


def discriminator_loss(real_logits, fake_logits):
    return criterion(real_logits, torch.ones_like(real_logits)) + criterion(fake_logits, torch.zeros_like(fake_logits))


def generator_loss(fake_logits):
    return criterion(fake_logits, torch.ones_like(fake_logits))


def train_step(G, D, opt_g, opt_d, real, z):
    G.train()
    D.train()
    D.zero_grad()
    output_real = D(real)
    fake = G(z)
    output_fake = D(fake.detach())
    errD = discriminator_loss(output_real, output_fake)
    errD.backward()
    opt_d.step()
    G.zero_grad()
    errG = generator_loss(D(fake))
    errG.backward()
    opt_g.step()
    return {"loss_d": errD.item(), "loss_g": errG.item(), "d_real": output_real.sigmoid().mean().item(),
            "d_fake": output_fake.sigmoid().mean().item()}


def sample(G, z):
    training = G.training
    G.eval()
    with torch.no_grad():
        out = G(z)
    if training:
        G.train()
    return out


def interpolate(G, z0, z1, steps):
    alphas = torch.linspace(0, 1, steps)
    return sample(G, torch.stack([(1 - a) * z0 + a * z1 for a in alphas]))
