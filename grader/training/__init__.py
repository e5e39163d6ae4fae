"""Training: the trusted operations that run in the worker on student models, and the
`bootcamp train` driver that turns their evidence into metrics, pictures and checkpoints."""
