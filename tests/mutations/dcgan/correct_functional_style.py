# correct
# why: another style: a 4 x 4 transposed-convolution projection, ModuleLists, functional activations, losses through logsigmoid, torch.lerp
"""A DCGAN written another way; same computation as the reference."""

import torch
from torch import nn
from torch.nn import functional as F


def upsample_padding(kernel_size=5, stride=2):
    extra = kernel_size - stride
    padding = (extra + 1) // 2
    return padding, 2 * padding - extra


class Generator(nn.Module):
    def __init__(self, nz=100, ngf=64, nc=3, image_size=64):
        super().__init__()
        if image_size == 32:
            levels = 3
        elif image_size == 64:
            levels = 4
        else:
            raise ValueError("image_size: 32 or 64 only")
        width = ngf * 2 ** (levels - 1)
        self.first = nn.ConvTranspose2d(nz, width, 4, bias=False)  # (B, nz, 1, 1) -> (B, width, 4, 4)
        pad, extra = upsample_padding()
        self.ups = nn.ModuleList()
        self.norms = nn.ModuleList([nn.BatchNorm2d(width)])
        for _ in range(levels - 1):
            self.ups.append(nn.ConvTranspose2d(width, width // 2, 5, 2, pad, extra, bias=False))
            self.norms.append(nn.BatchNorm2d(width // 2))
            width //= 2
        self.last = nn.ConvTranspose2d(width, nc, 5, 2, pad, extra)

    def forward(self, z):
        h = F.relu(self.norms[0](self.first(z.reshape(z.shape[0], -1, 1, 1))))
        for up, norm in zip(self.ups, self.norms[1:]):
            h = F.relu(norm(up(h)))
        return self.last(h).tanh()


class Discriminator(nn.Module):
    def __init__(self, ndf=64, nc=3, image_size=64):
        super().__init__()
        if image_size not in (32, 64):
            raise ValueError(f"unsupported image_size {image_size}")
        levels = 3 if image_size == 32 else 4
        self.convs = nn.ModuleList([nn.Conv2d(nc, ndf, 5, 2, 2)])
        self.norms = nn.ModuleList()
        width = ndf
        for _ in range(levels - 1):
            self.convs.append(nn.Conv2d(width, width * 2, 5, 2, 2, bias=False))
            self.norms.append(nn.BatchNorm2d(width * 2))
            width *= 2
        self.logit = nn.Linear(width * 16, 1)

    def forward(self, x):
        h = F.leaky_relu(self.convs[0](x), 0.2)
        for conv, norm in zip(self.convs[1:], self.norms):
            h = F.leaky_relu(norm(conv(h)), 0.2)
        return self.logit(torch.flatten(h, 1))[:, 0]


def weights_init(module):
    name = type(module).__name__
    if "Conv" in name:
        module.weight.data.normal_(0.0, 0.02)
    elif "BatchNorm" in name:
        module.weight.data.normal_(1.0, 0.02)
        module.bias.data.fill_(0)


def discriminator_loss(real_logits, fake_logits):
    return -(F.logsigmoid(real_logits).mean() + F.logsigmoid(-fake_logits).mean())


def generator_loss(fake_logits):
    return -F.logsigmoid(fake_logits).mean()


def train_step(G, D, opt_g, opt_d, real, z):
    G.train(), D.train()
    fake = G(z)
    for p in D.parameters():
        p.grad = None
    a_real, a_fake = D(real), D(fake.detach())
    loss_d = discriminator_loss(a_real, a_fake)
    loss_d.backward()
    opt_d.step()
    for p in G.parameters():
        p.grad = None
    loss_g = generator_loss(D(fake))
    loss_g.backward()
    opt_g.step()
    with torch.no_grad():
        return dict(loss_d=float(loss_d), loss_g=float(loss_g), d_real=float(a_real.sigmoid().mean()),
                    d_fake=float(a_fake.sigmoid().mean()))


@torch.no_grad()
def sample(G, z):
    mode = G.training
    G.eval()
    images = G(z)
    G.train(mode)
    return images


def interpolate(G, z0, z1, steps):
    weights = torch.linspace(0.0, 1.0, steps).to(z0)[:, None]
    return sample(G, torch.lerp(z0.expand(steps, -1), z1.expand(steps, -1), weights))
