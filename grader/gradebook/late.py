"""The late policy: a deadline, a penalty per started day late, and when each student submitted.

    policy = LatePolicy(deadline=parse_time("2025-03-01T23:59"), penalty_per_day=10)
    policy.assess(submitted_at)  # -> Late(days=2, penalty=0.2): the score is multiplied by 0.8

Submission times come from a CSV (`student,submitted_at`, as an LMS exports them) or, failing
that, from the files: a zip's modification time, or the newest practice file's in a folder.
Times without a zone are read in this machine's zone. The penalty never goes below zero points.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path


class LateError(Exception):
    """A bad deadline, penalty or times file; one line."""


def parse_time(text: str) -> datetime:
    """An ISO 8601 time (`2025-03-01T23:59`, `2025-03-01 23:59:00+01:00`, a trailing Z)."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise LateError(f"{text!r} is not a time like 2025-03-01T23:59 or 2025-03-01T23:59:00+01:00") from None
    return value if value.tzinfo else value.astimezone()


def from_timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc).astimezone()


@dataclass(frozen=True)
class Late:
    submitted_at: datetime | None
    days: int = 0
    penalty: float = 0.0  # fraction of the score taken away

    def apply(self, score: float) -> float:
        return max(0.0, score * (1.0 - self.penalty))

    def describe(self) -> str:
        if self.submitted_at is None:
            return "submission time unknown: no late penalty"
        if not self.days:
            return f"submitted {self.submitted_at:%Y-%m-%d %H:%M %Z}, on time"
        return (f"submitted {self.submitted_at:%Y-%m-%d %H:%M %Z}, {self.days} day(s) late: "
                f"-{self.penalty * 100:g}% of the score")


@dataclass(frozen=True)
class LatePolicy:
    deadline: datetime
    penalty_per_day: float  # percent of the score per started day late
    grace_minutes: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.penalty_per_day <= 100:
            raise LateError(f"--late-penalty {self.penalty_per_day:g}: a percentage per day, from 0 to 100")
        if self.grace_minutes < 0:
            raise LateError("--grace-minutes must not be negative")

    def assess(self, submitted_at: datetime | None) -> Late:
        if submitted_at is None:
            return Late(None)
        overdue = submitted_at - self.deadline - timedelta(minutes=self.grace_minutes)
        if overdue <= timedelta(0):
            return Late(submitted_at)
        days = math.ceil(overdue / timedelta(days=1))
        return Late(submitted_at, days, min(1.0, days * self.penalty_per_day / 100))

    def describe(self) -> str:
        grace = f", {self.grace_minutes:g} min grace" if self.grace_minutes else ""
        return f"deadline {self.deadline:%Y-%m-%d %H:%M %Z}, -{self.penalty_per_day:g}% per started day late{grace}"

    def to_json(self) -> str:
        return json.dumps({"deadline": self.deadline.isoformat(), "penalty_per_day": self.penalty_per_day,
                           "grace_minutes": self.grace_minutes})

    @classmethod
    def from_json(cls, text: str) -> "LatePolicy":
        data = json.loads(text)
        return cls(parse_time(data["deadline"]), float(data["penalty_per_day"]), float(data.get("grace_minutes", 0)))


def make_policy(deadline: str | None, penalty: float | None, grace: float | None = None) -> LatePolicy | None:
    """The policy from command-line options; None when no deadline is given."""
    if deadline is None:
        if penalty is not None:
            raise LateError("--late-penalty needs --deadline")
        return None
    return LatePolicy(parse_time(deadline), 10.0 if penalty is None else penalty, grace or 0.0)


def read_times(path: Path) -> dict[str, datetime]:
    """student -> submission time, from a CSV with columns `student,submitted_at` (header required)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            if not reader.fieldnames or not {"student", "submitted_at"} <= set(reader.fieldnames):
                raise LateError(f"{path}: expected a header line 'student,submitted_at'")
            times = {}
            for number, row in enumerate(reader, start=2):
                try:
                    times[row["student"].strip()] = parse_time(row["submitted_at"] or "")
                except LateError as error:
                    raise LateError(f"{path}, line {number}: {error}") from None
            return times
    except OSError as error:
        raise LateError(f"{path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise LateError(f"{path}: not a UTF-8 text file") from None
