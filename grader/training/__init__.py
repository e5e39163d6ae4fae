"""`bootcamp train`: the driver that runs a practice's training entry (`entry.Training`, declared in
its `train.py`) with a progress bar (`run_command`), its run folder and checkpoints (`runs`), the
GAN practices' shared run record (`gan_run`) and the pictures of a run (`pictures`). The
operations that train in the worker are `grader.operations`; the judges, `grader.judging`."""
