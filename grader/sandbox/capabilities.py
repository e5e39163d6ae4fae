"""Linux capabilities: cut this process's to a few, or to none, for good.

    keep_only(())                      # none: a worker after it entered its namespaces
    keep_only((CAP_KILL, CAP_SETUID))  # a zygote as root without namespaces (`by_user`)

The bounding set loses every other capability (no exec can regain one), the ambient set is
emptied, the effective and permitted sets become exactly `capabilities`, and `no_new_privs` is set.
"""

from __future__ import annotations

import ctypes

_PR_CAPBSET_DROP = 24
_PR_SET_NO_NEW_PRIVS = 38
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_CAPABILITY_VERSION_3 = 0x20080522  # 64-bit sets, as two 32-bit words


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def keep_only(capabilities: tuple[int, ...]) -> None:
    """Cut this process's capabilities to `capabilities` (numbers below 32), for good."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in range(64):
        if capability not in capabilities:
            libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0)
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    mask = sum(1 << capability for capability in capabilities)
    data = (_CapData * 2)(_CapData(mask, mask, 0), _CapData(0, 0, 0))
    if libc.capset(ctypes.byref(_CapHeader(_CAPABILITY_VERSION_3, 0)), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")
    libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
