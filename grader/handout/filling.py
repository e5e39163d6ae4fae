"""A handout template's text with its placeholders filled: `{practice}` -> the practice's name.

Each `{key}` of `values` is replaced by its value; other braces are left as they are. Comments
that stand in one column in a fenced code block of the template (`code   # comment`, two or more
spaces before the `#`) stay in one column: it moves by as much as the longest code before them
grew or shrank, so the longest keeps the gap it had in the template. With `{practice}` "ab",

    bootcamp list                     # every task
    bootcamp check --path {practice}  # a file

becomes

    bootcamp list             # every task
    bootcamp check --path ab  # a file

Lines outside code blocks, and comments in a column of which no line holds a placeholder, are
replaced text only, their spacing untouched.
"""

from __future__ import annotations

import re

_COMMENTED = re.compile(r"(?P<code>.*\S)(?P<gap> {2,})(?P<comment>#.*)")
_FENCE = "```"


def _replaced(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def filled(template: str, values: dict[str, str]) -> str:
    """`template` with `values` in place of its `{key}`s, comments kept aligned (see above)."""
    lines = template.split("\n")
    columns: dict[tuple[int, int], list[int]] = {}  # (code block, comment column) -> its lines
    block = 0
    inside = False
    for number, line in enumerate(lines):
        if line.strip().startswith(_FENCE):
            inside = not inside
            block += 1
        elif inside and (match := _COMMENTED.fullmatch(line)):
            columns.setdefault((block, match.start("comment")), []).append(number)
    out = [_replaced(line, values) for line in lines]
    for (_, column), numbers in columns.items():
        matches = [_COMMENTED.fullmatch(lines[number]) for number in numbers]
        codes = [_replaced(match["code"], values) for match in matches]
        shift = max(map(len, codes)) - max(len(match["code"]) for match in matches)
        for number, match, code in zip(numbers, matches, codes):
            out[number] = code + " " * (column + shift - len(code)) + _replaced(match["comment"], values)
    return "\n".join(out)
