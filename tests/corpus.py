"""The mutation corpus, stored as patches against the reference solutions.

`tests/mutations/<practice>/<name>.patch` is a unified diff against `solutions/<practice>.py`
whose leading comment lines say what the grader must decide (`tests/practices/test_mutations.py`):

    # breaks: basics.2                        or  # correct   (line 2 may be `# converges`)
    # why: the losses are summed whatever the reduction
    --- a/solutions/basics.py
    +++ b/solutions/basics.py
    @@ -148,7 +148,7 @@
    ...

`materialise(mutation, folder)` applies the patch to the current reference text in pure Python and
writes `folder/<practice>.py`: the comment lines, then the patched solution. The applier is strict:
every context and removed line must match the reference exactly (a hunk may sit at another line
number, as after an edit above it, if its lines match there and nowhere else), or it raises
`PatchError` naming the patch and the hunk. A change to a solution that a patch no longer fits
fails loudly instead of grading something else.

Because the comment lines come before the `---` line, `git apply tests/mutations/basics/x.patch`
(or `patch -p1 < ...`) in the repository root turns `solutions/basics.py` into the mutation, for a
look by hand (`git apply -R` undoes it). To change a mutation, or to refit one to a changed solution:

    python tests/corpus.py basics/mse_without_square --out /tmp/m    # writes /tmp/m/basics.py
    (edit /tmp/m/basics.py: the comment lines on top are the header)
    python tests/corpus.py basics/mse_without_square --from /tmp/m/basics.py   # rewrites the patch

A module written independently of the reference (another style, not a copy with one change) is
stored whole instead, as `tests/mutations/<practice>/<name>.py` with the same comment lines on
top: as a patch it would remove every line of the reference, and break at any edit of it.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository
CORPUS = ROOT / "tests" / "mutations"
SOLUTIONS = ROOT / "solutions"
CONTEXT = 3  # lines of context around each change, as `diff -u`

_HUNK = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(ValueError):
    """A patch that is malformed or no longer fits the reference it is applied to."""


def _lines(text: str) -> list[str]:
    """Lines with their '\\n' (the last one without, if the text does not end in one); only '\\n' splits."""
    return re.findall(r"[^\n]*\n|[^\n]+\Z", text)


@dataclass(frozen=True)
class Hunk:
    number: int  # 1-based, in the patch
    header: str  # the @@ line
    old_start: int
    new_start: int
    lines: tuple[tuple[str, str], ...]  # (" " | "-" | "+", the line with its '\n')

    @property
    def old(self) -> list[str]:
        return [text for op, text in self.lines if op != "+"]

    @property
    def new(self) -> list[str]:
        return [text for op, text in self.lines if op != "-"]


@dataclass(frozen=True)
class Patch:
    name: str  # what errors call it: the patch's path
    description: tuple[str, ...]  # the lines before `---`, with their '\n'
    old_path: str
    new_path: str
    hunks: tuple[Hunk, ...]


def parse_patch(text: str, name: str = "patch") -> Patch:
    """One file's unified diff, with the lines before its `---` line as its description."""
    lines = _lines(text)
    at = next((i for i, line in enumerate(lines) if line.startswith("--- ")), None)
    if at is None or at + 1 >= len(lines) or not lines[at + 1].startswith("+++ "):
        raise PatchError(f"{name}: no '--- ' line followed by a '+++ ' line")
    description, old_path, new_path = lines[:at], _path(lines[at]), _path(lines[at + 1])
    hunks, i = [], at + 2
    while i < len(lines):
        match = _HUNK.match(lines[i])
        if not match:
            raise PatchError(f"{name}: line {i + 1} should start a hunk ('@@ -a,b +c,d @@'), "
                             f"found {lines[i].rstrip()!r}")
        header = lines[i].rstrip("\n")
        old_start, old_count, new_start, new_count = (int(g) if g is not None else 1 for g in match.groups())
        where = f"{name}: hunk {len(hunks) + 1} ({header})"
        body: list[tuple[str, str]] = []
        olds = news = 0
        i += 1
        while i < len(lines) and (olds < old_count or news < new_count):
            line = lines[i]
            op, content = (" ", "\n") if line == "\n" else (line[0], line[1:])  # an emptied context line
            if op == "\\":
                if not body:
                    raise PatchError(f"{where}: '\\ No newline at end of file' with no line before it")
                body[-1] = (body[-1][0], body[-1][1].removesuffix("\n"))
            elif op in " -+":
                body.append((op, content))
                olds += op != "+"
                news += op != "-"
            else:
                raise PatchError(f"{where}: line {i + 1} begins with {op!r}, not ' ', '-' or '+'")
            i += 1
        if i < len(lines) and lines[i].startswith("\\"):  # the marker after the hunk's last line
            body[-1] = (body[-1][0], body[-1][1].removesuffix("\n"))
            i += 1
        if (olds, news) != (old_count, new_count):
            raise PatchError(f"{where}: the header counts {old_count} old and {new_count} new lines, "
                             f"the hunk has {olds} and {news}")
        if all(op == " " for op, _ in body):
            raise PatchError(f"{where}: changes nothing")
        hunks.append(Hunk(len(hunks) + 1, header, old_start, new_start, tuple(body)))
    if not hunks:
        raise PatchError(f"{name}: no hunks")
    return Patch(name, tuple(description), old_path, new_path, tuple(hunks))


def _path(line: str) -> str:
    """The file name of a '--- ' or '+++ ' line, without a tab-separated time stamp."""
    return line[4:].rstrip("\n").split("\t")[0]


def apply_patch(patch: Patch, reference: str, reference_name: str = "the reference") -> str:
    """`reference` with `patch`'s hunks applied, strictly: each hunk's context and removed lines must
    equal the reference's lines, at the hunk's line number (moved by as much as the hunks before it
    moved) or, failing that, at exactly one place after the previous hunk."""
    source = _lines(reference)
    out: list[str] = []
    done = 0  # source lines consumed
    shift = 0  # where the previous hunk was found, less where its header said
    for hunk in patch.hunks:
        old = hunk.old
        expected = (hunk.old_start if not old else hunk.old_start - 1) + shift
        where = f"{patch.name}: hunk {hunk.number} ({hunk.header})"
        if done <= expected and source[expected:expected + len(old)] == old:
            at = expected
        elif not old:
            raise PatchError(f"{where}: inserts at line {expected + 1} of {reference_name}, "
                             f"which has {len(source)} lines")
        else:
            found = [start for start in range(done, len(source) - len(old) + 1)
                     if source[start:start + len(old)] == old]
            if len(found) != 1:
                raise PatchError(f"{where}: {_mismatch(old, source, expected, reference_name)}"
                                 + (f"; its lines match at lines {', '.join(str(f + 1) for f in found)} "
                                    "of it, so where it goes is ambiguous" if found else
                                    "; they match nowhere else either (to refit the patch: "
                                    "python tests/corpus.py --help)"))
            at = found[0]
        out += source[done:at] + hunk.new
        done = at + len(old)
        shift = at - (hunk.old_start - 1 if old else hunk.old_start)
    return "".join(out + source[done:])


def _mismatch(old: list[str], source: list[str], at: int, reference_name: str) -> str:
    """Where the hunk's lines and the reference's part ways, at the hunk's line number."""
    for k, line in enumerate(old):
        if at < 0 or at + k >= len(source):
            return f"expects line {at + k + 1} of {reference_name}, which has {len(source)} lines"
        if source[at + k] != line:
            return (f"context does not match line {at + k + 1} of {reference_name}: "
                    f"expected {line!r}, found {source[at + k]!r}")
    return f"its lines come before an earlier hunk's end in {reference_name}"


def make_patch(reference: str, mutated: str, practice: str, description: str = "") -> str:
    """The unified diff that turns `reference` (solutions/<practice>.py) into `mutated`, with
    `description` (comment lines, each ending in '\\n') before it."""
    a, b = _lines(reference), _lines(mutated)
    out = [description, f"--- a/solutions/{practice}.py\n", f"+++ b/solutions/{practice}.py\n"]
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for group in matcher.get_grouped_opcodes(CONTEXT):
        (_, i1, _, j1, _), (_, _, i2, _, j2) = group[0], group[-1]
        out.append(f"@@ -{_range(i1, i2)} +{_range(j1, j2)} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += _diff_lines(" ", a[i1:i2])
                continue
            out += _diff_lines("-", a[i1:i2]) + _diff_lines("+", b[j1:j2])
    if len(out) == 3:
        raise PatchError(f"the mutation of {practice} is the reference itself: no patch to make")
    return "".join(out)


def _range(start: int, stop: int) -> str:
    length = stop - start
    return f"{start + 1}" if length == 1 else f"{start if length == 0 else start + 1},{length}"


def _diff_lines(op: str, lines: list[str]) -> list[str]:
    return [op + line if line.endswith("\n") else f"{op}{line}\n\\ No newline at end of file\n" for line in lines]


@dataclass(frozen=True)
class Mutation:
    """One file of the corpus: `tests/mutations/<practice>/<name>.patch`, or `<name>.py` for a
    module written independently of the reference (a patch would replace every line of it)."""

    practice: str
    name: str

    @property
    def id(self) -> str:
        """`<practice>/<name>`: the tests' parameter id."""
        return f"{self.practice}/{self.name}"

    @property
    def patch_path(self) -> Path:
        return CORPUS / self.practice / f"{self.name}.patch"

    @property
    def module_path(self) -> Path:
        return CORPUS / self.practice / f"{self.name}.py"

    @property
    def path(self) -> Path:
        """The corpus file: the patch, or the whole module; exactly one of them must exist."""
        found = [p for p in (self.patch_path, self.module_path) if p.is_file()]
        if len(found) != 1:
            raise FileNotFoundError(f"mutation {self.id}: expected one of {_shown(self.patch_path)} and "
                                    f"{_shown(self.module_path)}, found {len(found) or 'neither'}")
        return found[0]

    @property
    def is_patch(self) -> bool:
        return self.path.suffix == ".patch"

    @property
    def reference_path(self) -> Path:
        return SOLUTIONS / f"{self.practice}.py"

    def patch(self) -> Patch:
        patch = parse_patch(self.patch_path.read_text(), name=_shown(self.patch_path))
        expected = f"solutions/{self.practice}.py"
        if (patch.old_path, patch.new_path) != (f"a/{expected}", f"b/{expected}"):
            raise PatchError(f"{patch.name}: patches {patch.old_path} -> {patch.new_path}, "
                             f"not a/{expected} -> b/{expected}")
        if not patch.description or not all(line.startswith("#") for line in patch.description):
            raise PatchError(f"{patch.name}: must begin with its '# breaks: ...' or '# correct' comment lines")
        return patch

    def header(self) -> list[str]:
        """The comment lines that begin the mutated module (a patch's lines before its diff)."""
        lines = [line.rstrip("\n") for line in _lines(self.path.read_text())]
        return lines[:next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))]

    def expectation(self) -> tuple[str, list[str], bool]:
        """("breaks", task ids, False) or ("correct", [], converges) from the header:

            # breaks: basics.1 [basics.2 ...]   lose points on each named task
            # correct                           full marks (convergence too if line 2 or 3 is `# converges`)
        """
        lines = self.header()[:3]
        first = lines[0].strip() if lines else ""
        if first.startswith("# breaks:"):
            tasks = first.removeprefix("# breaks:").split()
            if not tasks:
                raise ValueError(f"{_shown(self.path)}: '# breaks:' names no task")
            return "breaks", tasks, False
        if first == "# correct":
            return "correct", [], any(line.strip() == "# converges" for line in lines[1:3])
        raise ValueError(f"{_shown(self.path)}: line 1 must be '# breaks: <task id> ...' or '# correct'")

    @property
    def kind(self) -> str:
        return self.expectation()[0]

    def text(self) -> str:
        """The mutated module: a patch's header lines, then the reference with the patch applied;
        or the whole module as it is stored."""
        if not self.is_patch:
            return self.module_path.read_text()
        patch = self.patch()
        return "".join(patch.description) + apply_patch(patch, self.reference_path.read_text(),
                                                        _shown(self.reference_path))


def _shown(path: Path) -> str:
    """A corpus or solutions path as the repository names it."""
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def mutations(practice: str | None = None) -> list[Mutation]:
    """Every mutation of the corpus (of `practice` only, if given), in order of practice and name."""
    folder = f"{practice}/" if practice else "*/"
    found = {(path.parent.name, path.stem) for suffix in ("patch", "py") for path in CORPUS.glob(f"{folder}*.{suffix}")}
    return [Mutation(*key) for key in sorted(found)]


def mutation(practice: str, name: str) -> Mutation:
    """One mutation, which must exist."""
    found = Mutation(practice, name)
    _ = found.path  # raises unless exactly one of its two possible files exists
    return found


def materialise(mutation: Mutation, folder: Path) -> Path:
    """Write the mutated module as `folder/<practice>.py` (the folder is made if need be) and return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{mutation.practice}.py"
    path.write_text(mutation.text())
    return path


def write_patch(mutation: Mutation, edited: str) -> Path:
    """Rewrite `mutation`'s patch from a whole edited module (header comment lines first, as
    `materialise` writes it) against the current reference."""
    lines = _lines(edited)
    count = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
    header, body = "".join(lines[:count]), "".join(lines[count:])
    if not header:
        raise PatchError(f"{mutation.id}: the edited module must begin with its '# breaks: ...' or '# correct' lines")
    if mutation.module_path.is_file():
        raise PatchError(f"{mutation.id} is stored whole, as {_shown(mutation.module_path)}: edit that file")
    mutation.patch_path.parent.mkdir(parents=True, exist_ok=True)
    mutation.patch_path.write_text(make_patch(mutation.reference_path.read_text(), body, mutation.practice, header))
    return mutation.patch_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tests/corpus.py", description=__doc__.split("\n\n")[0],
                                     epilog="With neither option, prints the mutated module.")
    parser.add_argument("mutation", help="<practice>/<name>, as in tests/mutations/<practice>/<name>.patch")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--out", type=Path, help="write the mutated module as OUT/<practice>.py")
    group.add_argument("--from", dest="source", type=Path,
                       help="rewrite (or create) the patch from this whole module, its header lines first")
    args = parser.parse_args(argv)
    practice, _, name = args.mutation.removesuffix(".patch").removesuffix(".py").partition("/")
    chosen = Mutation(practice, name)
    if args.source:
        print(f"wrote {_shown(write_patch(chosen, args.source.read_text()))}")
    elif args.out:
        print(f"wrote {materialise(mutation(practice, name), args.out)}")
    else:
        sys.stdout.write(mutation(practice, name).text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
