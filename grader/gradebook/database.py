"""The gradebook: one SQLite file that loses nothing.

Every `bootcamp grade` works in a *run*. Results are written as each submission finishes, one
transaction per submission, in WAL mode with full sync: a grader killed at any moment leaves every
finished submission recorded and nothing half-written. Earlier runs are kept, so a regrade can say
what changed.

    meta(key, value)                       schema version; the late policy
    runs(id, uuid, config_key, shard, practices, select_expr, options, grader_version,
         suites_hash, derandomize, started, finished, status, origin)
    submissions(run_id, student, source, content_hash, submitted_at, status, reason, notes,
                score, max_score, seconds, grader_version, suites_hash, derandomize,
                isolation, device, carried_from, graded_at)          status: graded|rejected|error
    practices(run_id, student, practice, status, reason, score, max_score)
                                                                     status: graded|missing|invalid
    tasks(run_id, student, task, practice, title, status, score, max_score, location)
    tests(run_id, student, nodeid, task, name, category, visibility, status, points, earned,
          message, output, seconds)
    pictures(run_id, student, nodeid, position, name, caption, png)       since schema 2
    measures(run_id, student, nodeid, position, name, value, bar, at_least, reference, fmt)

`config_key` hashes what makes two runs' grades comparable (practices, -k selection, suites hash,
grader version, seeds, device, limits): a resumed run must match it, and only results under the
same key are carried from one run to the next. A run holds at most one result per student.

`pictures` and `measures` hold what a convergence test attached to its report (`grader.attachments`):
compressed PNGs of at most `PICTURE_BYTES` (256 KiB) each and `SUBMISSION_BYTES` (2 MiB) per
submission (the rest are left out, with a note in the submission's notes), and the judge's
numbers with their bars and the reference's.

Schema versions: 1 had no pictures or measures; a gradebook of schema 1 is brought to 2 when it
is opened (the two tables are added in one transaction, every result is kept and has no
pictures); a gradebook of a newer schema is refused and left as it is.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from pathlib import Path

SCHEMA_VERSION = "2"
MIGRATES_FROM = ("1",)  # schemas brought up to SCHEMA_VERSION by adding the tables they lack
FILE_NAME = "gradebook.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE, config_key TEXT NOT NULL, shard TEXT NOT NULL,
    practices TEXT NOT NULL, select_expr TEXT, options TEXT NOT NULL, grader_version TEXT NOT NULL,
    suites_hash TEXT NOT NULL, derandomize TEXT NOT NULL, started TEXT NOT NULL, finished TEXT,
    status TEXT NOT NULL, origin TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS submissions (
    run_id INTEGER NOT NULL REFERENCES runs(id), student TEXT NOT NULL, source TEXT NOT NULL,
    content_hash TEXT NOT NULL, submitted_at TEXT, status TEXT NOT NULL, reason TEXT NOT NULL,
    notes TEXT NOT NULL, score REAL NOT NULL, max_score REAL NOT NULL, seconds REAL NOT NULL,
    grader_version TEXT NOT NULL, suites_hash TEXT NOT NULL, derandomize TEXT NOT NULL,
    isolation TEXT NOT NULL, device TEXT NOT NULL, carried_from INTEGER, graded_at TEXT NOT NULL,
    PRIMARY KEY (run_id, student));
CREATE TABLE IF NOT EXISTS practices (
    run_id INTEGER NOT NULL, student TEXT NOT NULL, practice TEXT NOT NULL, status TEXT NOT NULL,
    reason TEXT NOT NULL, score REAL NOT NULL, max_score REAL NOT NULL,
    PRIMARY KEY (run_id, student, practice));
CREATE TABLE IF NOT EXISTS tasks (
    run_id INTEGER NOT NULL, student TEXT NOT NULL, task TEXT NOT NULL, practice TEXT NOT NULL,
    title TEXT NOT NULL, status TEXT NOT NULL, score REAL NOT NULL, max_score REAL NOT NULL,
    location TEXT NOT NULL, PRIMARY KEY (run_id, student, task));
CREATE TABLE IF NOT EXISTS tests (
    run_id INTEGER NOT NULL, student TEXT NOT NULL, nodeid TEXT NOT NULL, task TEXT NOT NULL,
    name TEXT NOT NULL, category TEXT NOT NULL, visibility TEXT NOT NULL, status TEXT NOT NULL,
    points REAL NOT NULL, earned REAL NOT NULL, message TEXT NOT NULL, output TEXT NOT NULL,
    seconds REAL NOT NULL, PRIMARY KEY (run_id, student, nodeid));
CREATE TABLE IF NOT EXISTS pictures (
    run_id INTEGER NOT NULL, student TEXT NOT NULL, nodeid TEXT NOT NULL, position INTEGER NOT NULL,
    name TEXT NOT NULL, caption TEXT NOT NULL, png BLOB NOT NULL, PRIMARY KEY (run_id, student, nodeid, position));
CREATE TABLE IF NOT EXISTS measures (
    run_id INTEGER NOT NULL, student TEXT NOT NULL, nodeid TEXT NOT NULL, position INTEGER NOT NULL,
    name TEXT NOT NULL, value REAL, bar REAL, at_least INTEGER NOT NULL, reference REAL, fmt TEXT NOT NULL,
    PRIMARY KEY (run_id, student, nodeid, position));
CREATE INDEX IF NOT EXISTS submissions_by_student ON submissions (student, run_id);
"""

TABLES = ("submissions", "practices", "tasks", "tests", "pictures", "measures")
RUN_COLUMNS = ("uuid", "config_key", "shard", "practices", "select_expr", "options", "grader_version",
               "suites_hash", "derandomize", "started", "finished", "status", "origin")


class GradebookError(Exception):
    """A gradebook that cannot be used (not a gradebook, a newer schema); one line."""


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def connect(path: Path, *, create: bool = True) -> sqlite3.Connection:
    """Open (or create) a gradebook; WAL mode, full sync, owner-only permissions."""
    path = Path(path)
    if not create and not path.is_file():
        raise GradebookError(f"{path}: no such gradebook")
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # hidden tests' messages live here
    try:
        db = sqlite3.connect(path, timeout=60, isolation_level=None)
        db.row_factory = sqlite3.Row
        has_meta = db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
        version = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone() if has_meta else None
        if version is not None and version[0] in MIGRATES_FROM:
            _migrate(db)
        elif version is not None and version[0] != SCHEMA_VERSION:  # another version's: write nothing to it
            db.close()
            raise GradebookError(f"{path}: written by another version of the grader (gradebook schema {version[0]}, "
                                 f"this one reads {SCHEMA_VERSION}); nothing in it was changed: run the same "
                                 "command with the grader that wrote it, or choose another --out")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(SCHEMA)
        db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
    except sqlite3.OperationalError:
        raise  # the disk or the folder, not the file: the caller says what happened (`faults`)
    except sqlite3.DatabaseError as error:
        raise GradebookError(f"{path}: not a gradebook ({error})") from None
    return db


def _migrate(db: sqlite3.Connection) -> None:
    """An older schema brought to SCHEMA_VERSION in one transaction: the tables it lacks are added
    and the version set, or (killed, a full disk) nothing changes."""
    db.execute("BEGIN IMMEDIATE")
    try:
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute("UPDATE meta SET value=? WHERE key='schema'", (SCHEMA_VERSION,))
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class transaction:  # noqa: N801  (used as `with transaction(db):`)
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, value, traceback) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def get_meta(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return row[0] if row else None


def set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


# ---- runs ---------------------------------------------------------------------------------------

def resumable_run(db: sqlite3.Connection, key: str, shard: str) -> int | None:
    """The latest unfinished run (killed or interrupted) with this config and shard, if any."""
    row = db.execute("SELECT id FROM runs WHERE config_key=? AND shard=? AND status!='finished' "
                     "ORDER BY id DESC LIMIT 1", (key, shard)).fetchone()
    return row[0] if row else None


def latest_run(db: sqlite3.Connection) -> sqlite3.Row | None:
    return db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone()


def reopen_run(db: sqlite3.Connection, run_id: int) -> None:
    with transaction(db):
        db.execute("UPDATE runs SET status='running', finished=NULL WHERE id=?", (run_id,))


def new_run(db: sqlite3.Connection, config: dict, *, shard: str, options: dict) -> int:
    with transaction(db):
        cursor = db.execute(
            "INSERT INTO runs (uuid, config_key, shard, practices, select_expr, options, grader_version, "
            "suites_hash, derandomize, started, status) VALUES (?,?,?,?,?,?,?,?,?,?, 'running')",
            (uuid.uuid4().hex, config_key(config), shard, json.dumps(config["practices"]), config["select"],
             json.dumps(options), config["grader_version"], config["suites_hash"], json.dumps(config["derandomize"]),
             now()))
        return cursor.lastrowid


def close_run(db: sqlite3.Connection, run_id: int, status: str) -> None:
    with transaction(db):
        db.execute("UPDATE runs SET status=?, finished=? WHERE id=?", (status, now(), run_id))


def config_key(config: dict) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def runs(db: sqlite3.Connection) -> list[sqlite3.Row]:
    return db.execute("SELECT r.*, (SELECT COUNT(*) FROM submissions s WHERE s.run_id=r.id) AS students "
                      "FROM runs r ORDER BY id").fetchall()


# ---- what is already done -----------------------------------------------------------------------

def recorded(db: sqlite3.Connection, run_id: int) -> dict[str, tuple[str, str, str | None]]:
    """student -> (content hash, status, submitted_at) of the results already in run `run_id`."""
    return {row[0]: (row[1], row[2], row[3]) for row in db.execute(
        "SELECT student, content_hash, status, submitted_at FROM submissions WHERE run_id=?", (run_id,))}


def reusable(db: sqlite3.Connection, run_id: int) -> dict[tuple[str, str], int]:
    """(student, content hash) -> the latest other run with the same config that graded it."""
    key = db.execute("SELECT config_key FROM runs WHERE id=?", (run_id,)).fetchone()[0]
    rows = db.execute(
        "SELECT s.student, s.content_hash, MAX(s.run_id) FROM submissions s JOIN runs r ON r.id=s.run_id "
        "WHERE r.config_key=? AND s.run_id!=? AND s.status!='error' GROUP BY s.student, s.content_hash",
        (key, run_id))
    return {(row[0], row[1]): row[2] for row in rows}


def carry(db: sqlite3.Connection, student: str, source_run: int, run_id: int, submitted_at: str | None) -> None:
    """Copy a student's result from `source_run` into `run_id` (same config, same content)."""
    with transaction(db):
        _delete(db, run_id, student)
        for table in TABLES:
            columns = [c for c in _columns(db, table) if c != "run_id"]
            listed = ", ".join(columns)
            db.execute(f"INSERT INTO {table} (run_id, {listed}) SELECT ?, {listed} FROM {table} "
                       "WHERE run_id=? AND student=?", (run_id, source_run, student))
        db.execute("UPDATE submissions SET carried_from=?, submitted_at=? WHERE run_id=? AND student=?",
                   (source_run, submitted_at, run_id, student))


def touch(db: sqlite3.Connection, run_id: int, student: str, submitted_at: str | None) -> None:
    with transaction(db):
        db.execute("UPDATE submissions SET submitted_at=? WHERE run_id=? AND student=?",
                   (submitted_at, run_id, student))


def _delete(db: sqlite3.Connection, run_id: int, student: str) -> None:
    for table in TABLES:
        db.execute(f"DELETE FROM {table} WHERE run_id=? AND student=?", (run_id, student))


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


# ---- results ------------------------------------------------------------------------------------

def record(db: sqlite3.Connection, run_id: int, entry: dict, result: dict) -> None:
    """Write one submission's result (and replace an older one in this run), in one transaction.

    `entry`: student, source, content_hash, submitted_at, notes, grader_version, suites_hash,
    derandomize. `result`: status, reason, report (a `Report.to_json()` or None), practices
    (practice -> {status, reason}), seconds.
    """
    report = result.get("report") or {}
    practice_status = result.get("practices") or {}
    pictures, measures, notes = _attachments(report)
    entry = {**entry, "notes": [*entry.get("notes", []), *notes]}
    with transaction(db):
        _delete(db, run_id, entry["student"])
        db.execute(
            "INSERT INTO submissions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (run_id, entry["student"], entry["source"], entry["content_hash"], entry.get("submitted_at"),
             result["status"], result.get("reason", ""), json.dumps(entry.get("notes", [])),
             float(report.get("score", 0.0)), float(report.get("max_score", 0.0)),
             float(result.get("seconds", report.get("seconds", 0.0))), entry["grader_version"],
             entry["suites_hash"], json.dumps(result.get("hypothesis") or entry["derandomize"]),
             json.dumps(report.get("isolation", [])), report.get("device", ""), None, now()))
        for practice in report.get("practices", []):
            state = practice_status.get(practice["name"], {"status": "graded", "reason": ""})
            db.execute("INSERT INTO practices VALUES (?,?,?,?,?,?,?)",
                       (run_id, entry["student"], practice["name"], state["status"], state["reason"],
                        practice["score"], practice["max_score"]))
            for task in practice["tasks"]:
                db.execute("INSERT INTO tasks VALUES (?,?,?,?,?,?,?,?,?)",
                           (run_id, entry["student"], task["id"], practice["name"], task["title"], task["status"],
                            task["score"], task["max_score"], task["where"]))
                db.executemany("INSERT INTO tests VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", [
                    (run_id, entry["student"], test["nodeid"], test["task"], test["name"], test["category"],
                     test["visibility"], test["status"], test["points"],
                     test["points"] if test["status"] == "passed" else 0.0, test["message"], test["output"],
                     test["seconds"]) for test in task["tests"]])
        db.executemany("INSERT INTO pictures VALUES (?,?,?,?,?,?,?)", [
            (run_id, entry["student"], nodeid, position, p.name, p.caption, p.png)
            for nodeid, position, p in pictures])
        db.executemany("INSERT INTO measures VALUES (?,?,?,?,?,?,?,?,?,?)", [
            (run_id, entry["student"], nodeid, position, m.name, m.value, m.bar, int(m.at_least), m.reference, m.fmt)
            for nodeid, position, m in measures])


def _attachments(report: dict) -> tuple[list, list, list[str]]:
    """(nodeid, position, Picture) and (nodeid, position, Measure) of a report's tests, each picture
    checked (a PNG within the cap) and all of them within the submission's budget; and notes for
    what was left out."""
    from grader.attachments import (SUBMISSION_BYTES, AttachmentError, measure_from_json, picture_from_json,
                                    within_budget)

    pictures, measures, broken = [], [], 0
    tests = [test for practice in report.get("practices", []) for task in practice["tasks"] for test in task["tests"]]
    for test in tests:
        for position, record in enumerate(test.get("pictures") or []):
            try:
                pictures.append((test["nodeid"], position, picture_from_json(record, test["visibility"])))
            except AttachmentError:
                broken += 1
        for position, record in enumerate(test.get("measures") or []):
            try:
                measures.append((test["nodeid"], position, measure_from_json(record, test["visibility"])))
            except AttachmentError:
                broken += 1
    kept, left_out = within_budget(p for _, _, p in pictures)
    kept_ids = {id(p) for p in kept}
    notes = []
    if left_out:
        notes.append(f"{left_out} picture(s) of the graded runs left out: a submission keeps at most "
                     f"{SUBMISSION_BYTES / 2**20:g} MiB of pictures")
    if broken:
        notes.append(f"{broken} picture(s) or measure(s) of the graded runs could not be read and were left out")
    return [item for item in pictures if id(item[2]) in kept_ids], measures, notes
