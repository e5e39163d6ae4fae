"""Task titles of the dcgan practice, as the report shows them."""

TASKS = {
    "dcgan.1": "upsample_padding: the padding pair that doubles a transposed convolution's output",
    "dcgan.2": "Generator: projection to 4 x 4, strided 5 x 5 transposed convs, batch norm, ReLU, tanh",
    "dcgan.3": "Discriminator: strided 5 x 5 convs, batch norm, LeakyReLU 0.2, one linear logit",
    "dcgan.4": "weights_init: conv weights N(0, 0.02), batch norm N(1, 0.02) and 0",
    "dcgan.5": "discriminator_loss: BCE with logits, real (target 1) and fake (target 0)",
    "dcgan.6": "generator_loss: non-saturating -mean log sigmoid(D(G(z)))",
    "dcgan.7": "train_step: D update on real and detached fake, then G update",
    "dcgan.8": "sample: G's images in eval mode, without gradients, mode restored",
    "dcgan.9": "interpolate: images along the line between two latent vectors",
    "dcgan.10": "training draws samples a trusted classifier finds digit-like and varied",
}
WARM_UP = True  # the practice trains models: workers start with torch optimizers initialised
ORDER = 5  # its place in the course (grader.registry)
