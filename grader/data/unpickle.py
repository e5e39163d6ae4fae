"""A restricted unpickler for the CIFAR-10 python batches.

The batches are pickles (written by Python 2 with numpy). A plain `pickle.load` on a downloaded
file would run whatever callable the file names; this unpickler resolves only the few globals a
CIFAR batch needs to rebuild dicts, lists, strings, numbers and uint8 numpy arrays, and refuses
every other one before it can be called.
"""

from __future__ import annotations

import codecs
import io
import pickle
from typing import Any

import numpy as np

# The function numpy pickles arrays with (numpy.core.multiarray._reconstruct before numpy 2,
# numpy._core.multiarray._reconstruct since), taken from numpy itself rather than by name.
_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]
_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    # Python 3 writes bytes in protocol 2 as _codecs.encode(text, "latin1")
    ("_codecs", "encode"): codecs.encode,
    ("builtins", "dict"): dict,
    ("builtins", "list"): list,
    ("builtins", "bytes"): bytes,
    ("builtins", "str"): str,
    ("builtins", "int"): int,
}


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle names a global outside the allowed set."""


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(f"refused to load {module}.{name}") from None


def restricted_loads(data: bytes) -> Any:
    """Unpickle `data`, allowing only builtin containers, strings, numbers and numpy arrays.

    Python 2 strings come back as `bytes` (`encoding="bytes"`), so a CIFAR batch is a dict with
    keys such as `b"data"` and `b"labels"`, as the CIFAR-10 page documents.

    Raises:
        RefusedGlobal: the pickle names any other global (e.g. `os.system`).
        pickle.UnpicklingError, EOFError, ValueError, TypeError: malformed or truncated data.
    """
    return _RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
