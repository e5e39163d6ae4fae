"""`bootcamp train`: the driver that runs a practice's training entry (`entry.Training`, declared in
its `train.py`): one run record and one driver for every practice (`driver`), the terminal's
progress bar and lines (`run_command`), run folders and checkpoints (`runs`), the parts the
generative adversarial practices share (`gan`) and the pictures of a run (`pictures`). The
operations that train in the worker are `grader.operations`; the judges, `grader.judging`."""
