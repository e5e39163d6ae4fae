"""Task titles of the pix2pix practice, as the report shows them."""

TASKS = {
    "pix2pix.1": "UNetGenerator: encoder, decoder, skip connections, dropout, tanh",
    "pix2pix.2": "PatchDiscriminator: conditioned 70x70 PatchGAN on the (input, image) pair",
    "pix2pix.3": "patch_receptive_field: the patch one logit sees",
    "pix2pix.4": "discriminator_loss: halved BCE of real (1) and fake (0) patch logits",
    "pix2pix.5": "generator_loss: non-saturating cGAN term + lambda * L1",
    "pix2pix.6": "train_step: D update on real and detached fake pairs, then G update",
    "pix2pix.7": "translate: G's outputs in eval mode, without gradients",
    "pix2pix.8": "training: held-out photos turned into edge maps beat the baselines",
}
WARM_UP = True  # the practice trains models: workers start with torch optimizers initialised
ORDER = 6  # its place in the course (grader.registry)
