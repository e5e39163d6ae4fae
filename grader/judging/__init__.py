"""The grader's side of a convergence check: who draws from trained weights, and how it is judged.

Nothing here runs in a worker. The digit judge (`digit_judge`) and CIFAR judge, copies of
training images (`copies`), the quality of unconditional samples (`sample_quality`), the walk
through latent space (`latent_walk`), the transplant of trained tensors into the declared
architecture (`transplant`, `declared`) and the choice of who draws (`drawing`).
"""
