"""Which submissions resemble each other: per practice, every pair that shares code, most first.

    result = detect(Path("submissions"), practices)
    result.practices[0].pairs[0]   # the pair with the most shared code in the first practice

The practice files are read exactly as `bootcamp grade` reads them (`gradebook.submissions`: the
same safety checks, LMS renamings and notebooks), and are never run. The skeleton
(`assignments/<practice>.py`) is boilerplate: its k-grams never count as shared. So is code that
more than `COMMON_SHARE` of the class shares (MOSS's `-m`), once a practice has at least
`COMMON_MIN_FILES` files: what everyone writes the same way is no evidence of copying. Pairs are
found through an index of the winnowed fingerprints and then compared on all their k-grams.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from grader import paths
from grader.gradebook.similarity.fingerprints import Code, Match, compare

COMMON_SHARE = 0.5
COMMON_MIN_FILES = 5


class SimilarityError(Exception):
    """Bad input for the similarity report (no such folder, no submissions); one line."""


@dataclass
class Pair:
    practice: str
    a: str
    b: str
    match: Match

    @property
    def shared(self) -> int:
        return self.match.shared


@dataclass
class PracticeResult:
    practice: str
    codes: dict[str, Code]  # student -> their file
    pairs: list[Pair]  # most shared code first
    skeleton_kgrams: int  # distinct k-grams of the skeleton, discounted
    common_kgrams: int  # distinct k-grams shared by most of the class, discounted


@dataclass
class Result:
    practices: list[PracticeResult]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (student, why): rejected submissions


def rank(practice: str, sources: dict[str, str], skeleton: str | None = None) -> PracticeResult:
    """Every pair of `sources` (student -> code) that shares code outside the boilerplate, most first."""
    codes = {student: Code.of(student, text) for student, text in sorted(sources.items())}
    ignored = set(Code.of("skeleton", skeleton).hashes) if skeleton else set()
    skeleton_count = len(ignored)
    holders: dict[int, set[str]] = {}
    for student, code in codes.items():
        for value in set(code.hashes) - ignored:
            holders.setdefault(value, set()).add(student)
    common = set()
    if len(codes) >= COMMON_MIN_FILES:
        common = {value for value, who in holders.items() if len(who) > COMMON_SHARE * len(codes)}
    ignored |= common
    candidates: set[tuple[str, str]] = set()
    for student, code in codes.items():  # the index: pairs that share at least one fingerprint
        for value in code.fingerprints - ignored:
            candidates.update((a, b) for a, b in combinations(sorted(holders.get(value, ())), 2))
    pairs = []
    for a, b in sorted(candidates):
        match = compare(codes[a], codes[b], ignored)
        if match.regions:
            pairs.append(Pair(practice, a, b, match))
    pairs.sort(key=lambda p: (-p.shared, -(p.match.covered_a + p.match.covered_b), p.a, p.b))
    return PracticeResult(practice, codes, pairs, skeleton_count, len(common))


def collect(submissions: Path, practices: list[str]) -> tuple[dict[str, dict[str, str]], list[tuple[str, str]]]:
    """practice -> student -> source, read as `bootcamp grade` reads them; and the submissions skipped."""
    from grader.gradebook.submissions import Rejected, discover, unpack
    from grader.registry import names as known

    found, _ = discover(submissions)
    sources: dict[str, dict[str, str]] = {p: {} for p in practices}
    skipped = []
    for item in found:
        try:
            unpacked = unpack(item, practices, known())
        except Rejected as error:
            skipped.append((item.student, str(error)))
            continue
        for practice in practices:
            data = unpacked.files.get(f"{practice}.py")
            if data is not None:
                sources[practice][item.student] = data.decode("utf-8", "replace")
    return sources, skipped


def detect(submissions: Path, practices: list[str] | None = None) -> Result:
    """The similarity of every practice's files in the folder `submissions` (one entry per student)."""
    from grader.check import BadInput, resolve_practices

    submissions = Path(submissions)
    if not submissions.is_dir():
        raise SimilarityError(f"{submissions}: no such folder (expected a folder of submissions, one per student)")
    try:
        chosen = resolve_practices(practices or [])
    except BadInput as error:
        raise SimilarityError(str(error)) from None
    sources, skipped = collect(submissions, chosen)
    if not any(sources.values()):
        raise SimilarityError(f"{submissions}: no practice file of {', '.join(chosen)} in any submission")
    results = []
    for practice in chosen:
        if sources[practice]:
            skeleton = paths.ASSIGNMENTS_DIR / f"{practice}.py"
            results.append(rank(practice, sources[practice], skeleton.read_text() if skeleton.is_file() else None))
    return Result(results, skipped)
