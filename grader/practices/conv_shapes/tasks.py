"""The graded tasks of practice `conv_shapes` (lecture: convolution appendix): id -> title."""

TASKS = {
    "conv_shapes.1": "output size of a convolution",
    "conv_shapes.2": "output size of a transposed convolution",
    "conv_shapes.3": "'same' padding at stride 1",
    "conv_shapes.4": "receptive field of a stack of convolutions",
    "conv_shapes.5": "conv2d by hand: values and gradients",
}
ORDER = 2  # its place in the course (grader.registry)
