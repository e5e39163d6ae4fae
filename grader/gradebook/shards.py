"""Split a class across machines, and put the pieces back together.

`--shard I/N` (I from 1 to N) grades the students whose id hashes to slice I: a stable hash of the
id alone, so every job of a Slurm array or CI matrix picks its slice without talking to the
others, and a student who joins late does not move anyone else. Two submissions with the same id
always land in the same shard (and are rejected there together).

    bootcamp grade subs/ --shard 3/8 --out shard-3/      # on each machine
    bootcamp gradebook merge class.sqlite shard-*/gradebook.sqlite

`merge` copies every run of every shard gradebook into one gradebook, with new run ids; a run
already merged (same uuid) is skipped, so merging again is harmless.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from grader.gradebook import database


class ShardError(ValueError):
    """A malformed --shard; one line."""


@dataclass(frozen=True)
class Shard:
    index: int  # 1..count
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, student: str) -> bool:
        return shard_of(student, self.count) == self.index


def parse_shard(text: str) -> Shard:
    """`"3/8"` -> Shard(3, 8); a `ShardError` with a one-line reason otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not match:
        raise ShardError(f"--shard {text!r}: expected I/N, e.g. 1/4")
    index, count = int(match[1]), int(match[2])
    if count < 1 or not 1 <= index <= count:
        raise ShardError(f"--shard {text}: I must be between 1 and N (shards are numbered 1..N)")
    return Shard(index, count)


def shard_of(student: str, count: int) -> int:
    """The shard (1..count) of a student id: sha256 of the id, modulo count."""
    digest = hashlib.sha256(student.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


@dataclass
class MergeResult:
    runs_added: int = 0
    runs_skipped: int = 0
    students: int = 0  # distinct students in the runs added
    overlaps: list[str] = field(default_factory=list)  # students graded in more than one source


def merge(target: Path, sources: list[Path]) -> MergeResult:
    """Copy every run of `sources` into the gradebook `target` (created if missing)."""
    for source in sources:
        if Path(source).resolve() == Path(target).resolve():
            raise database.GradebookError(f"{source}: cannot merge a gradebook into itself")
        database.connect(source, create=False).close()  # a gradebook of this schema, or a clear error
    db = database.connect(target)
    result = MergeResult()
    seen: dict[str, str] = {}
    try:
        for source in sources:
            db.execute("ATTACH DATABASE ? AS shard", (str(Path(source).resolve()),))
            try:
                _merge_one(db, Path(source), result, seen)
            finally:
                db.execute("DETACH DATABASE shard")
        if database.get_meta(db, "late_policy") is None:
            for source in sources:
                other = database.connect(source, create=False)
                policy = database.get_meta(other, "late_policy")
                other.close()
                if policy:
                    database.set_meta(db, "late_policy", policy)
                    break
    finally:
        db.close()
    return result


def _merge_one(db: sqlite3.Connection, source: Path, result: MergeResult, seen: dict[str, str]) -> None:
    listed = ", ".join(database.RUN_COLUMNS)
    with database.transaction(db):
        for run in db.execute("SELECT * FROM shard.runs ORDER BY id").fetchall():
            if db.execute("SELECT 1 FROM main.runs WHERE uuid=?", (run["uuid"],)).fetchone():
                result.runs_skipped += 1
                continue
            values = [run[c] for c in database.RUN_COLUMNS]
            values[database.RUN_COLUMNS.index("origin")] = run["origin"] or str(source)
            new_id = db.execute(f"INSERT INTO main.runs ({listed}) VALUES ({', '.join('?' * len(values))})",
                                values).lastrowid
            for table in database.TABLES:
                columns = [row[1] for row in db.execute(f"PRAGMA main.table_info({table})") if row[1] != "run_id"]
                names = ", ".join(columns)
                db.execute(f"INSERT INTO main.{table} (run_id, {names}) SELECT ?, {names} FROM shard.{table} "
                           "WHERE run_id=?", (new_id, run["id"]))
            for (student,) in db.execute("SELECT student FROM shard.submissions WHERE run_id=?", (run["id"],)):
                if student in seen and seen[student] != str(source):
                    result.overlaps.append(student)
                seen[student] = str(source)
            result.runs_added += 1
    result.students = len(seen)
