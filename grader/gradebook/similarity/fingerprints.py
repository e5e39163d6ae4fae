"""Fingerprints of Python code, MOSS-style: normalised tokens, k-grams, winnowing, shared regions.

Schleimer, Wilkerson and Aiken's winnowing ("Winnowing: local algorithms for document
fingerprinting", SIGMOD 2003), the method behind MOSS, applied to Python's own tokens:

1. `tokens`: the source through `tokenize`, with comments, blank lines, indentation tokens and
   docstrings dropped, every identifier written as `V` (so renaming variables, functions or
   classes changes nothing) except attribute names after a dot (`torch.clamp`, `x.sum`: what is
   called, not what it is called), strings as `S`, numbers, keywords and operators as they are.
   Spacing and comments never reach a token; code that does not tokenize keeps what did.
2. `kgrams`: a 64-bit hash of each run of `K` consecutive tokens.
3. `winnow`: in each window of `WINDOW` consecutive hashes the smallest (the rightmost of equal
   ones) is a fingerprint. Any run of `K + WINDOW - 1` tokens that two files share yields at least
   one shared fingerprint; runs shorter than `K` tokens never do (noise such as `return V + V`).
4. `compare`: two files' shared k-grams outside the boilerplate (the skeleton's k-grams, and those
   that most of the class shares) marked back onto tokens, grouped into numbered regions that
   appear in the same order on both sides, and counted as tokens of each file covered.

Moving a function elsewhere in the file moves its region, which still matches; reordering the
statements inside one breaks it into smaller regions.
"""

from __future__ import annotations

import hashlib
import io
import keyword
import tokenize
from dataclasses import dataclass, field

K = 12  # tokens per k-gram
WINDOW = 8  # k-grams per winnowing window
_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENCODING, tokenize.ENDMARKER}
_STATEMENT_START = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING}


@dataclass(frozen=True)
class Token:
    text: str  # normalised
    line: int  # 1-based, where the token starts
    end_line: int


@dataclass
class Code:
    """One file: its source, normalised tokens, k-gram hashes (by position) and fingerprints."""

    name: str
    source: str
    tokens: list[Token]
    hashes: list[int] = field(default_factory=list)
    fingerprints: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, name: str, source: str) -> Code:
        code = cls(name, source, tokens(source))
        code.hashes = kgrams(code.tokens)
        code.fingerprints = winnow(code.hashes)
        return code


def tokens(source: str) -> list[Token]:
    """The normalised tokens of `source` (see the module docstring); stops quietly where it cannot go on."""
    raw: list[tokenize.TokenInfo] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            raw.append(token)
    except (tokenize.TokenError, SyntaxError, ValueError):  # an unterminated string, bad dedent: keep the rest
        pass
    out: list[Token] = []
    previous = tokenize.NEWLINE  # the type of the last token, skipped ones included
    last_text = ""  # the last kept token's source text
    for index, token in enumerate(raw):
        kind, text = token.type, token.string
        following = raw[index + 1].type if index + 1 < len(raw) else tokenize.NEWLINE
        if kind in _SKIPPED:
            if kind != tokenize.COMMENT and kind != tokenize.NL:
                previous = kind
            continue
        if kind == tokenize.STRING and previous in _STATEMENT_START and following in (tokenize.NEWLINE,
                                                                                     tokenize.ENDMARKER):
            previous = kind  # a docstring (or a bare string statement): documentation, not code
            continue
        if kind == tokenize.NAME and not keyword.iskeyword(text) and last_text != ".":
            shown = "V"
        elif kind == tokenize.STRING or kind == getattr(tokenize, "FSTRING_START", -1):
            shown = "S"
        elif kind in (getattr(tokenize, "FSTRING_MIDDLE", -1), getattr(tokenize, "FSTRING_END", -1)):
            previous = kind
            continue
        else:
            shown = text
        out.append(Token(shown, token.start[0], token.end[0]))
        previous, last_text = kind, text
    return out


def _hash(texts: list[str]) -> int:
    return int.from_bytes(hashlib.blake2b("\0".join(texts).encode(), digest_size=8).digest(), "big")


def kgrams(items: list[Token]) -> list[int]:
    """The hash of each run of K tokens, by its first token's position."""
    texts = [t.text for t in items]
    return [_hash(texts[i:i + K]) for i in range(len(texts) - K + 1)]


def winnow(hashes: list[int], window: int = WINDOW) -> set[int]:
    """The fingerprints: the minimum of each window of hashes (a file shorter than a window: its minimum)."""
    if not hashes:
        return set()
    if len(hashes) <= window:
        return {min(hashes)}
    chosen: set[int] = set()
    for start in range(len(hashes) - window + 1):
        chosen.add(min(hashes[start:start + window]))
    return chosen


@dataclass
class Region:
    """A run of k-grams shared by two files: token spans [a_start, a_end) and [b_start, b_end)."""

    number: int
    a_start: int
    a_end: int
    b_start: int
    b_end: int


@dataclass
class Match:
    """What two files share: regions, and how many of each file's tokens they cover."""

    regions: list[Region]
    covered_a: int
    covered_b: int

    @property
    def shared(self) -> int:
        """The size of the shared code: the smaller of the two covered token counts."""
        return min(self.covered_a, self.covered_b)


def compare(a: Code, b: Code, ignored: set[int]) -> Match:
    """The k-grams `a` and `b` share (outside `ignored`, the boilerplate), as regions in `a`'s order."""
    in_b: dict[int, list[int]] = {}
    for position, value in enumerate(b.hashes):
        if value not in ignored:
            in_b.setdefault(value, []).append(position)
    regions: list[Region] = []
    for i, value in enumerate(a.hashes):
        if value not in in_b:
            continue
        last = regions[-1] if regions else None
        if last and last.a_end - K + 1 == i and last.b_end - K + 1 in in_b[value]:
            last.a_end, last.b_end = i + K, last.b_end + 1  # the same run goes on in both files
            continue
        j = in_b[value][0]
        regions.append(Region(len(regions) + 1, i, i + K, j, j + K))
    covered_a = _covered(regions, "a")
    covered_b = _covered(regions, "b")
    return Match(regions, len(covered_a), len(covered_b))


def _covered(regions: list[Region], side: str) -> set[int]:
    spans = ((r.a_start, r.a_end) if side == "a" else (r.b_start, r.b_end) for r in regions)
    return {i for start, end in spans for i in range(start, end)}


def line_regions(code: Code, regions: list[Region], side: str) -> dict[int, int]:
    """Line number -> the number of a region covering one of its tokens (the first such region)."""
    marked: dict[int, int] = {}
    for region in regions:
        start, end = (region.a_start, region.a_end) if side == "a" else (region.b_start, region.b_end)
        for token in code.tokens[start:end]:
            for line in range(token.line, token.end_line + 1):
                marked.setdefault(line, region.number)
    return marked
