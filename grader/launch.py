"""The `bootcamp` command's entry point: the sandbox's mother starts first, then the CLI.

Commands that grade or train need a sandbox zygote, and a fresh one is a Python that imports
torch: seconds. Started here, before anything heavy is imported, the mother
(`grader.sandbox.mother`) imports torch while this process imports its own (the CLI, pytest,
the suites), and the submission's zygote is then forked from it in milliseconds. It dies with
this process.
"""

from __future__ import annotations

import gc
import sys

SANDBOXED = ("check", "validate", "train")


def main() -> None:
    arguments = sys.argv[1:]
    if arguments and arguments[0] in SANDBOXED and not {"--help", "-h"} & set(arguments):
        from grader.sandbox.mother import Mother, use_mother

        use_mother(Mother())
    from grader import plugin
    from grader.cli import main as cli

    plugin.FREEZE_AFTER_COLLECTION = True  # one command, one process
    try:
        cli()
    finally:
        # The process ends now: its last garbage collection would walk every object of torch,
        # pytest and the suites for nothing (about 0.4 s of a `bootcamp check`).
        gc.freeze()
