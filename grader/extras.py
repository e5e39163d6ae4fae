"""What only the instructor's extra installs (`pip install -e ".[instructor]"`: nbgrader, dask), and
the one line a command says when it needs that and a student's install (`pip install -e .`) lacks it.

`bootcamp release` (nbgrader clears the solutions), `bootcamp export nbgrader` and `bootcamp grade
--executor dask` need it; `check`, `list`, `train` and `data` never do.
"""

from __future__ import annotations

import importlib.util

INSTALL = 'pip install -e ".[instructor]"'


def missing(module: str, needed_by: str) -> str:
    """'' when `module` can be imported; else one line naming what needs it and how to install it."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    return "" if found else f"{needed_by} needs {module}, which only the instructor's install has: {INSTALL}"
