"""Hypothesis strategies for the `conv_shapes` suite, in one place.

Sizes are small so each example is quick; some draws are deliberately invalid (a kernel larger
than the padded input, a zero stride), where the student's code must raise ValueError exactly
when PyTorch refuses.
"""

from __future__ import annotations

import torch
from hypothesis import strategies as st

seeds = st.integers(min_value=0, max_value=2**16)


@st.composite
def conv_arguments(draw) -> tuple[int, int, int, int, int]:
    """(i, k, s, p, d) with positive kernel, stride and dilation; the output may be too small."""
    return (draw(st.integers(1, 40)), draw(st.integers(1, 8)), draw(st.integers(1, 5)), draw(st.integers(0, 5)),
            draw(st.integers(1, 4)))


@st.composite
def invalid_conv_arguments(draw) -> tuple[int, int, int, int, int]:
    """(i, k, s, p, d) with at least one of i, k, s, d below 1 or p below 0."""
    values = [draw(st.integers(1, 12)), draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(0, 3)),
              draw(st.integers(1, 3))]
    broken = draw(st.sets(st.integers(0, 4), min_size=1, max_size=2))
    for index in broken:
        values[index] = draw(st.integers(-3, -1)) if index == 3 else draw(st.integers(-2, 0))
    return tuple(values)


@st.composite
def conv_transpose_arguments(draw) -> tuple[int, int, int, int, int, int]:
    """(i, k, s, p, output_padding, d), mostly valid; output_padding may break the rule."""
    return (draw(st.integers(1, 12)), draw(st.integers(1, 6)), draw(st.integers(1, 4)), draw(st.integers(0, 4)),
            draw(st.integers(0, 3)), draw(st.integers(1, 3)))


@st.composite
def invalid_conv_transpose_arguments(draw) -> tuple[int, int, int, int, int, int]:
    """(i, k, s, p, output_padding, d) with at least one argument out of its range."""
    values = [draw(st.integers(1, 8)), draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(0, 2)),
              draw(st.integers(0, 1)), draw(st.integers(1, 3))]
    index = draw(st.integers(0, 5))
    values[index] = draw(st.integers(-3, -1)) if index in (3, 4) else draw(st.integers(-2, 0))
    return tuple(values)


kernels_and_dilations = st.tuples(st.integers(-1, 9), st.integers(-1, 4))


layer = st.one_of(
    st.tuples(st.integers(1, 5), st.integers(1, 3)),  # (kernel, stride)
    st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(1, 3)),  # (kernel, stride, dilation)
)
layer_stacks = st.lists(layer, min_size=0, max_size=5)


def pair_or_int(values: st.SearchStrategy[int]) -> st.SearchStrategy:
    """An int, or a (height, width) tuple of two."""
    return st.one_of(values, st.tuples(values, values))


def as_pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else value


@st.composite
def conv2d_cases(draw) -> dict:
    """Arguments of a small conv2d whose output is at least 1x1: shapes, stride, padding, dilation."""
    stride = draw(pair_or_int(st.integers(1, 3)))
    padding = draw(pair_or_int(st.integers(0, 2)))
    dilation = draw(pair_or_int(st.integers(1, 2)))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    size = []
    for k, p, d in zip(kernel, as_pair(padding), as_pair(dilation)):
        smallest = max(1, d * (k - 1) + 1 - 2 * p)
        size.append(draw(st.integers(smallest, smallest + 5)))
    return {
        "batch": draw(st.integers(1, 2)), "c_in": draw(st.integers(1, 3)), "c_out": draw(st.integers(1, 3)),
        "size": tuple(size), "kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation,
        "bias": draw(st.booleans()), "seed": draw(seeds),
    }


def conv2d_tensors(case: dict, dtype: torch.dtype = torch.float64):
    """(x, weight, bias or None) for a `conv2d_cases` example, from its seed."""
    generator = torch.Generator().manual_seed(case["seed"])
    x = torch.randn(case["batch"], case["c_in"], *case["size"], generator=generator, dtype=dtype)
    weight = torch.randn(case["c_out"], case["c_in"], *case["kernel"], generator=generator, dtype=dtype)
    bias = torch.randn(case["c_out"], generator=generator, dtype=dtype) if case["bias"] else None
    return x, weight, bias
