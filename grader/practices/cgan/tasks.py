"""Task titles of the cgan practice, as the report shows them."""

TASKS = {
    "cgan.1": "Maxout: linear map to units x pieces, max over the pieces",
    "cgan.2": "Generator: noise and label paths, joint layer, dropout, sigmoid",
    "cgan.3": "Discriminator: maxout paths, joint maxout, dropout, sigmoid",
    "cgan.4": "discriminator_loss: BCE of real (target 1) and fake (target 0)",
    "cgan.5": "generator_loss: non-saturating -mean log D(G(z|y)|y)",
    "cgan.6": "train_step: D update on real and detached fake, then G update",
    "cgan.7": "sample: G's images in eval mode, without gradients",
    "cgan.8": "training draws digits a trusted classifier recognises",
}
WARM_UP = True  # the practice trains models: workers start with torch optimizers initialised
ORDER = 4  # its place in the course (grader.registry)
