"""The wire format between the trusted grader and the untrusted worker.

A message is plain data: tensors, numbers, strings, bytes, None, dtypes and devices, and lists,
tuples and dicts of them. It is written as a pickle of builtins only: each tensor becomes
`{"__tensor__": (dtype name, shape, raw bytes)}`, each dtype `{"__dtype__": name}`, each device
`{"__device__": name}`. The reader's unpickler refuses every global but `complex`, so it can only
ever build builtin containers and values (stricter than `torch.load(weights_only=True)`, and
about ten times faster for the small messages of a test); tensors are then rebuilt from their
bytes. A worker can send data, never an object with behaviour.

Objects that are not data (a model, an optimizer, a function) stay in the worker; the wire
carries a handle to them: `{"__handle__": id, "type": "MnistCNN", "callable": True}`.

Framing: 8-byte big-endian length, then the payload. A payload over `max_bytes` is refused
before it is read, so a worker cannot exhaust the grader's memory with one reply.
"""

from __future__ import annotations

import collections
import io
import pickle
import socket
import struct
from typing import Any

import torch

HANDLE_KEY = "__handle__"
_TENSOR, _DTYPE, _DEVICE = "__tensor__", "__dtype__", "__device__"
DEFAULT_MAX_BYTES = 512 * 2**20
_HEADER = struct.Struct(">Q")

_SCALARS = (type(None), bool, int, float, complex, str, bytes, torch.dtype, torch.device)
_KEYS = (str, int, float, bool)


class WireError(Exception):
    """A message that could not be read: too large, truncated, or not plain data."""


class Unencodable(Exception):
    """A value that is not plain data; the worker keeps it and sends a handle instead."""


def is_handle(value: Any) -> bool:
    return isinstance(value, dict) and HANDLE_KEY in value


def to_data(value: Any, *, keep: Any = None, depth: int = 0) -> Any:
    """Convert `value` to wire data.

    Tensors are detached and moved to the CPU. numpy scalars become Python numbers and numpy
    arrays become tensors. Anything else that is not data is passed to `keep(obj) -> handle dict`
    when given (the worker's handle table), else raises `Unencodable`.
    """
    if depth > 32:
        raise Unencodable("nested more than 32 levels deep")
    if type(value) in _SCALARS:
        return value
    numpy_value = _from_numpy(value)
    if numpy_value is not None:
        return numpy_value
    for plain in (bool, int, float, str):  # subclasses (an IntEnum, a str subclass) as their base
        if isinstance(value, plain):
            return plain(value)
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, torch.Size):
        return tuple(int(d) for d in value)
    if type(value) in (list, tuple):
        items = [to_data(v, keep=keep, depth=depth + 1) for v in value]
        return items if type(value) is list else tuple(items)
    if type(value) in (dict, collections.OrderedDict) and all(isinstance(k, _KEYS) for k in value):
        return {k: to_data(v, keep=keep, depth=depth + 1) for k, v in value.items()}
    return _keep(value, keep)


def _keep(value: Any, keep: Any) -> Any:
    if keep is None:
        raise Unencodable(f"a {type(value).__name__} is not plain data")
    return keep(value)


def _from_numpy(value: Any) -> Any:
    module = type(value).__module__
    if not module.startswith("numpy"):
        return None
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.dtype != object:
        return torch.from_numpy(value.copy())
    return None


def _pack(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous()
        raw = tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
        return {_TENSOR: (str(tensor.dtype).removeprefix("torch."), tuple(tensor.shape), raw)}
    if isinstance(value, torch.dtype):
        return {_DTYPE: str(value).removeprefix("torch.")}
    if isinstance(value, torch.device):
        return {_DEVICE: str(value)}
    if isinstance(value, (list, tuple)):
        return type(value)(_pack(v) for v in value)
    if isinstance(value, dict):
        return {k: _pack(v) for k, v in value.items()}
    return value


def _unpack(value: Any) -> Any:
    if isinstance(value, list):
        return [_unpack(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_unpack(v) for v in value)
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        if _TENSOR in value:
            return _tensor(*value[_TENSOR])
        if _DTYPE in value:
            return _dtype(value[_DTYPE])
        if _DEVICE in value:
            return torch.device(value[_DEVICE])
    return {k: _unpack(v) for k, v in value.items()}


def _dtype(name: Any) -> torch.dtype:
    dtype = getattr(torch, name, None) if isinstance(name, str) else None
    if not isinstance(dtype, torch.dtype):
        raise WireError(f"unknown dtype {name!r}")
    return dtype


def _tensor(dtype_name: Any, shape: Any, raw: Any) -> torch.Tensor:
    dtype = _dtype(dtype_name)
    if not isinstance(raw, bytes) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise WireError("malformed tensor")
    if not raw:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(dtype).reshape(shape)


class _DataOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("builtins", "complex"):
            return complex
        raise pickle.UnpicklingError(f"refused {module}.{name}")


def encode(message: Any) -> bytes:
    return pickle.dumps(_pack(message), protocol=pickle.HIGHEST_PROTOCOL)


def decode(payload: bytes) -> Any:
    try:
        return _unpack(_DataOnlyUnpickler(io.BytesIO(payload)).load())
    except Exception as error:  # the unpickler refused something, or the bytes are garbage
        raise WireError(f"the worker sent something that is not plain data ({_first_line(error)})") from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


def send(sock: socket.socket, message: Any) -> None:
    payload = encode(message)
    sock.sendall(_HEADER.pack(len(payload)) + payload)


def recv(sock: socket.socket, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Read one message; `EOFError` when the other side has closed the connection."""
    (length,) = _HEADER.unpack(_recv_exactly(sock, _HEADER.size))
    if length > max_bytes:
        raise WireError(f"a message of {length / 2**20:.0f} MiB is over the {max_bytes / 2**20:.0f} MiB limit")
    return decode(_recv_exactly(sock, length))


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(min(n - len(chunks), 1 << 20))
        if not chunk:
            raise EOFError("connection closed")
        chunks += chunk
    return bytes(chunks)
