"""Text from student code, made safe to show: no control character or escape sequence survives.

A submission's exception messages and printed output reach the instructor's and the student's
terminal, the JSON report and the HTML feedback. Raw, they could clear the screen and print a
forged `Total: 41 / 41 points` (CSI), set the window title, write to the clipboard (OSC 52),
plant a hyperlink (OSC 8), overwrite a line (carriage return, backspace), ring the bell, or
reorder what is shown (bidi overrides). `visible` replaces each such character with its escape
written out (`\\x1b`, `\\r`, `\\u202e`), so the sequence shows as text and does nothing; newlines
and tabs are kept. Markup is a separate matter: the report prints student text with rich's
`Text` (never parsed as markup) and the HTML feedback escapes it.

    visible("\\x1b[2JTotal: 41 / 41 points")  ->  "\\\\x1b[2JTotal: 41 / 41 points"
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, and the invisible direction marks and
# overrides (LRM, RLM, ALM, LRE..RLO, LRI..PDI), plus the line and paragraph separators.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\r": "\\r", "\b": "\\b", "\a": "\\a", "\f": "\\f", "\v": "\\v", "\x1b": "\\x1b"}


def _shown(match: re.Match) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def visible(text: str) -> str:
    """`text` with every control character and direction override written out as an escape."""
    return _UNSAFE.sub(_shown, text)


def student_block(label: str, text: str, *, prefix: str = "  | ") -> str:
    """Student text set apart: a label line, then each line behind `prefix`, escapes made visible."""
    lines = visible(text).splitlines() or [""]
    return "\n".join([label] + [prefix + line for line in lines])
