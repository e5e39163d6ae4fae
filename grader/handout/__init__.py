"""What students are handed, built from the same sources by `bootcamp release`.

- `grader.release`: the skeletons in `assignments/` (always regenerated first);
- `student`: the student edition, a folder or a zip (`--student`, `--student-zip`), refused when the
  leak scan (`scan`) finds anything of the instructor's in it;
- `gradescope`: the autograder zip Gradescope runs (`--gradescope`);
- `notebooks`: one nbgrader-style notebook per practice (`--notebooks`).

None of this is part of the student edition.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from grader.release import RECORD, ReleaseError, release, stale


def release_all(*, check_only: bool = False, student_dir: Path | None = None, student_zip: Path | None = None,
                gradescope: Path | None = None, practices: list[str] | None = None,
                hidden_visibility: str = "after_due_date", notebooks_dir: Path | None = None,
                force: bool = False, say: Callable[[str], None] = print) -> list[str]:
    """Do what `bootcamp release` was asked; return the problems (for --check: what is stale).
    `force`: overwrite skeletons edited by hand (each kept as `<name>.bak`); without it they are
    refused (`grader.release.EditedSkeleton`)."""
    from grader.handout import student

    if check_only:
        problems = []
        outdated = stale()
        if outdated == [RECORD]:
            problems.append(f"assignments/{RECORD} does not record the skeletons of assignments/; "
                            "run `bootcamp release`")
        elif outdated:
            problems.append(f"assignments/ is stale: {', '.join(outdated)} differ from solutions/; "
                            "run `bootcamp release`")
        else:
            say("assignments/ is up to date with solutions/")
        if student_dir is not None:
            problems += student_edition_problems(Path(student_dir), say)
        return problems
    written = release(force=force, say=say)
    say(f"wrote {', '.join('assignments/' + name for name in written)}" if written
        else "assignments/ is already up to date")
    if student_dir is not None or student_zip is not None:
        from grader.handout.scan import scan_files

        files = student.planned()
        leaks = scan_files(files)
        if leaks:
            raise ReleaseError(f"the student edition would leak: {leaks[0]} (and {len(leaks) - 1} more)")
        if student_dir is not None:
            student.write(Path(student_dir), files)
            say(f"wrote the student edition to {student_dir} ({len(files)} files)")
        if student_zip is not None:
            student.write_zip(Path(student_zip), files)
            say(f"wrote the student edition to {student_zip}")
    if gradescope is not None:
        from grader.handout.gradescope import write_autograder

        write_autograder(Path(gradescope), practices or [], hidden_visibility=hidden_visibility)
        say(f"wrote the Gradescope autograder to {gradescope}")
    if notebooks_dir is not None:
        from grader.handout.notebooks import write_notebooks

        names = write_notebooks(Path(notebooks_dir))
        say(f"wrote {', '.join(names)} to {notebooks_dir}")
    return []


def student_edition_problems(folder: Path, say: Callable[[str], None]) -> list[str]:
    from grader.handout import student

    if not (folder / "grader" / "edition.py").is_file():
        return [f"{folder}: no student edition here; run `bootcamp release --student {folder}`"]
    differ = student.stale(folder)
    if differ:
        return [f"{folder} is stale: {', '.join(differ[:5])}{' ...' if len(differ) > 5 else ''} differ from "
                f"what `bootcamp release --student {folder}` writes"]
    say(f"{folder} is up to date")
    return []
