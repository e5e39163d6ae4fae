"""Task titles of the mnist_cnn practice, as the report shows them."""

TASKS = {
    "mnist_cnn.1": "MnistCNN layers: CONV-BN-ReLU blocks, pooling, FC layers",
    "mnist_cnn.2": "MnistCNN.forward: (B, 1, 28, 28) -> (B, 10) logits",
    "mnist_cnn.3": "train_step: zero_grad, forward, cross-entropy, backward, step",
    "mnist_cnn.4": "evaluate: accuracy in eval mode, without gradients",
    "mnist_cnn.5": "predict_proba: softmax over the logits",
    "mnist_cnn.6": "training converges on held-out digits",
}
WARM_UP = True  # the practice trains models: workers start with torch optimizers initialised
ORDER = 3  # its place in the course (grader.registry)
