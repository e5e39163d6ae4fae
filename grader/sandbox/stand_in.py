"""A trusted stand-in for a student's module: what a spare worker imports and calls while it
waits for its request (see `worker.rehearsal`). Only the grader writes it."""

import torch


def layer(x, weight):
    """(B, in), (out, in) -> (B, out): a fully connected layer with a few activations."""
    return torch.sigmoid(torch.relu(x @ weight.T) - torch.tanh(x).mean()) * torch.ones(x.shape[0], weight.shape[0])
