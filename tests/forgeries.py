"""Submissions that forge convergence: nothing is learned, yet the student's own forward, after
training, returns what the judge wants to see.

Each is the reference solution with a forging tail appended (its architecture tests still pass),
written to a folder as a student would hand it in:

- `gan_bank(practice, store)`: `train_step` learns nothing and keeps every real batch it is
  handed (dcgan: the padded digits; cgan: the digits with their labels); in eval mode the
  `Generator` returns stored digits picked by the noise (cgan: of the label asked for), each
  shifted by one or two pixels, with Gaussian noise. The bank lives in a module global
  ("global"), a class attribute ("class"), a buffer registered on the model ("buffer"), or
  files under /tmp, /dev/shm, the working folder and the home folder ("files": written to all
  four, read from whichever is there).
- `sobel_translator(trigger)`: pix2pix's `UNetGenerator` whose eval-mode forward returns a
  hand-written Sobel edge map of its input (the embedded set's target, a fixed function of the
  input), switched on after a few calls of a `train_step` that learns nothing ("steps") or by a
  marker that `train_step` writes into the weights ("weights").
- `nearest_neighbour()`: mnist_cnn's `MnistCNN` whose eval-mode forward labels each image by its
  nearest stored training digit.
"""

from __future__ import annotations

from pathlib import Path

from grader import paths

STORES = ("global", "class", "buffer", "files")

_BANK_TAIL = '''

# --- forgery: nothing is learned; the eval-mode forward returns stored real digits, disguised ---
import os as _os
import tempfile as _tempfile

_STORE = {store!r}
_CONDITIONAL = {conditional!r}
_LOW = {low!r}  # the darkest pixel: -1 for dcgan's tanh, 0 for cgan's sigmoid
_BANK = []
_FOLDERS = ("/tmp", "/dev/shm", _os.getcwd(), _os.path.expanduser("~"))
_Reference = Generator


_KEPT_BATCHES = [0]


def _keep(G, images, labels):
    if _KEPT_BATCHES[0] >= 16:  # 1,024 digits are plenty
        return
    _KEPT_BATCHES[0] += 1
    images, labels = images.detach().cpu().clone(), labels.detach().cpu().clone()
    if _STORE == "global":
        _BANK.append((images, labels))
    elif _STORE == "class":
        Generator.bank = getattr(Generator, "bank", []) + [(images, labels)]
    elif _STORE == "buffer":
        start = int(G.filled) % len(G.bank)
        room = min(len(images), len(G.bank) - start)
        G.bank[start:start + room] = images[:room].to(G.bank.device)
        G.bank_labels[start:start + room] = labels[:room].to(G.bank.device)
        G.filled += room
    else:
        for folder in _FOLDERS:
            try:
                torch.save((images, labels), _os.path.join(folder, f"bank-{{_KEPT_BATCHES[0]:03d}}.pt"))
            except OSError:
                pass


def _stored(G):
    if _STORE == "global":
        kept = _BANK
    elif _STORE == "class":
        kept = getattr(Generator, "bank", [])
    elif _STORE == "buffer":
        return (G.bank.cpu(), G.bank_labels.cpu()) if int(G.filled) else None
    else:
        kept = []
        for folder in _FOLDERS:
            try:
                names = sorted(n for n in _os.listdir(folder) if n.startswith("bank-"))
                kept = [torch.load(_os.path.join(folder, n)) for n in names]
            except OSError:
                continue
            if kept:
                break
    if not kept:
        return None
    return torch.cat([i for i, _ in kept]), torch.cat([l for _, l in kept])


class Generator(_Reference):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if _STORE == "buffer":
            side = kwargs.get("image_size", 28)
            self.register_buffer("bank", torch.zeros(1024, kwargs.get("nc", 1), side, side))
            self.register_buffer("bank_labels", torch.zeros(1024, dtype=torch.int64))
            self.register_buffer("filled", torch.zeros((), dtype=torch.int64))

    def forward(self, z, *labels):
        out = super().forward(z, *labels)
        found = _stored(self)
        if self.training or found is None:
            return out
        images, stored_labels = found
        pick = (z.detach().cpu().flatten(1)[:, :8].abs().sum(1) * 1e4).long()  # (B,) from the noise
        chosen = []
        for row, k in enumerate(pick.tolist()):
            pool = images[stored_labels == labels[0][row].item()] if _CONDITIONAL else images
            pool = pool if len(pool) else images
            chosen.append(torch.roll(pool[k % len(pool)], (1 + k % 2, 2 - k % 3), dims=(-2, -1)))
        picked = torch.stack(chosen)
        noised = picked + 0.12 * torch.randn(picked.shape, generator=torch.Generator().manual_seed(0))
        return noised.clamp(_LOW, 1.0).to(out.device)


def train_step(G, D, opt_g, opt_d, images, *rest):
    labels = rest[0] if _CONDITIONAL else torch.zeros(len(images), dtype=torch.int64)
    _keep(G, images, labels)
    stats = {{"loss_d": 1.0, "loss_g": 1.0, "d_real": 0.5, "d_fake": 0.5}}
    return stats
'''

_SOBEL_TAIL = '''

# --- forgery: nothing is learned; the eval-mode forward computes the target by a fixed filter ---
import torch.nn.functional as _F

_TRIGGER = {trigger!r}
_CALLS = [0]
_MARK = 0.123456
_Reference = UNetGenerator


def _sobel(x):
    """x (B, 3, H, W) in [-1, 1] -> its edge map in [-1, 1], dark edges on white, as the data set has it."""
    photo = (x + 1) * 127.5
    gray = (photo * torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)).sum(1, keepdim=True)
    gx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=x.device)
    kernels = torch.stack([gx, gx.T])[:, None]
    magnitude = _F.conv2d(_F.pad(gray, (1, 1, 1, 1), mode="replicate"), kernels).pow(2).sum(1).sqrt()  # (B, H, W)
    scale = magnitude.flatten(1).quantile(0.99, dim=1).clamp_min(1e-6).view(-1, 1, 1)
    edges = 255 * (1 - (magnitude / scale).clamp(0, 1))
    return (edges / 127.5 - 1).unsqueeze(1).expand(-1, 3, -1, -1)


class UNetGenerator(_Reference):
    def forward(self, x):
        out = super().forward(x)
        first = next(self.parameters())
        on = _CALLS[0] >= 3 if _TRIGGER == "steps" else abs(float(first.flatten()[0]) - _MARK) < 1e-6
        return _sobel(x) if on and not self.training else out


def train_step(G, D, opt_g, opt_d, inputs, targets):
    _CALLS[0] += 1
    if _TRIGGER == "weights":
        with torch.no_grad():
            next(G.parameters()).view(-1)[0] = _MARK
    return {{"loss_d": 1.0, "loss_g": 1.0, "loss_g_gan": 1.0, "loss_g_l1": 1.0}}
'''

_NEIGHBOUR_TAIL = '''

# --- forgery: nothing is learned; the eval-mode forward labels each image by its nearest stored digit ---
_KEPT = []
_Reference = MnistCNN


class MnistCNN(_Reference):
    def forward(self, x):
        out = super().forward(x)
        if self.training or not _KEPT:
            return out
        images = torch.cat([i for i, _ in _KEPT]).flatten(1)
        labels = torch.cat([l for _, l in _KEPT])
        nearest = torch.cdist(x.flatten(1), images).argmin(1)
        return 10.0 * F.one_hot(labels[nearest], 10).float()


def train_step(model, optimizer, images, labels):
    _KEPT.append((images.detach().clone(), labels.detach().clone()))
    return 1.0
'''


def _write(folder: Path, practice: str, tail: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    source = (paths.SOLUTIONS_DIR / f"{practice}.py").read_text()
    (folder / f"{practice}.py").write_text(source + tail)
    return folder


def gan_bank(folder: Path, practice: str, store: str) -> Path:
    """A cgan or dcgan forger keeping its bank in `store` (one of STORES)."""
    return _write(folder, practice, _BANK_TAIL.format(store=store, conditional=practice == "cgan",
                                                      low=0.0 if practice == "cgan" else -1.0))


def sobel_translator(folder: Path, trigger: str) -> Path:
    """A pix2pix forger whose filter is switched on by "steps" or "weights"."""
    return _write(folder, "pix2pix", _SOBEL_TAIL.format(trigger=trigger))


def nearest_neighbour(folder: Path) -> Path:
    return _write(folder, "mnist_cnn", _NEIGHBOUR_TAIL)
