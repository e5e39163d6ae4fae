"""The graded tasks of practice `basics` (lecture: Basics and Appendix): id -> title."""

TASKS = {
    "basics.1": "activation functions: relu, leaky_relu, tanh, sigmoid",
    "basics.2": "binary cross-entropy, clamped like PyTorch",
    "basics.3": "cross-entropy through the log-sum-exp trick",
    "basics.4": "regression losses: mse_loss, l1_loss",
    "basics.5": "fully connected layer, forward: y = x W^T + b",
    "basics.6": "fully connected layer, backward by hand: dx, dW, db",
    "basics.7": "one gradient-descent step: W <- W - rho * dL/dW",
}
ORDER = 1  # its place in the course (grader.registry)
