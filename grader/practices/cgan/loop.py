"""How the grader's GAN loop trains the conditional GAN: its settings, sent to the worker as data.

The shared loop (`grader.operations.gan_loop.train_gan`, `LOOP`) gets the conditional data
(training digits with their labels, and the labels of the samples), noise of NZ numbers, and
images in [0, 1]; the student's `train_step(G, D, opt_g, opt_d, images, labels, z)` does each
step. Call it as `session.run(LOOP, Generator, Discriminator, train_step, train_images,
sample_noise, train_labels=..., sample_labels=..., **SETTINGS, ...)` with the run's recipe.
"""

LOOP = "grader.operations.gan_loop:train_gan"
NZ = 100
SETTINGS = {"nz": NZ, "pixel_range": (0.0, 1.0)}
