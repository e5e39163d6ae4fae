"""Beyond one machine: deterministic shards merged into one gradebook, and grading on Dask."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest
from gradebook_classes import PARTIAL_BASICS, SELECT, SOLUTION, invoke, task_scores, write_folder, write_zip

from grader.gradebook.cli import gradebook
from grader.gradebook.executors import DaskExecutor, Job
from grader.gradebook.grade import Options, grade
from grader.gradebook.shards import Shard, ShardError, parse_shard, shard_of


def test_shards_split_a_class_deterministically_into_disjoint_slices():
    students = [f"student{i:04d}" for i in range(400)]
    slices = [[s for s in students if Shard(i, 4).holds(s)] for i in range(1, 5)]
    assert sorted(sum(slices, [])) == students  # every student in exactly one slice
    assert all(60 < len(part) < 140 for part in slices)  # roughly balanced
    assert shard_of("alice", 4) == shard_of("alice", 4)
    later = [s for s in students + ["zed"] if Shard(2, 4).holds(s)]
    assert [s for s in later if s != "zed"] == slices[1]  # a new student moves nobody else


@pytest.mark.parametrize("text", ["0/4", "5/4", "1/0", "a/b", "3", ""])
def test_bad_shards_are_one_clear_error(text):
    with pytest.raises(ShardError, match="--shard"):
        parse_shard(text)


def same_class(folder):
    """alice, carol, dave and trudy of the session's class: the same files, so the same grades."""
    write_folder(folder / "alice", {"basics.py": SOLUTION["basics"], "conv_shapes.py": SOLUTION["conv_shapes"]})
    write_folder(folder / "carol", {"basics.py": PARTIAL_BASICS})
    write_zip(folder / "dave.zip", {"dave/basics.py": SOLUTION["basics"],
                                    "dave/conv_shapes.py": SOLUTION["conv_shapes"], "dave/README.txt": "my work"})
    (folder / "trudy.zip").write_bytes(b"PK\x03\x04 this is not really a zip file")
    return ["alice", "carol", "dave", "trudy"]


def options(**changes) -> Options:
    return Options(**{"practices": ["basics", "conv_shapes"], "workers": 2, "select": SELECT, **changes})


def test_shard_gradebooks_merge_into_the_whole_class(graded_class, tmp_path):
    students = same_class(tmp_path / "submissions")
    parts = []
    for index in (1, 2):
        out = tmp_path / f"shard-{index}"
        summary = grade(tmp_path / "submissions", out, options(shard=Shard(index, 2)))
        assert summary.students == sum(Shard(index, 2).holds(s) for s in students)
        parts.append(out / "gradebook.sqlite")
    merged = tmp_path / "class.sqlite"
    result = invoke(gradebook, ["merge", str(merged), *map(str, parts)])
    assert result.exit_code == 0 and "merged 2 run(s) (4 student(s))" in result.output
    expected = {key: value for key, value in task_scores(graded_class.db).items() if key[0] in students}
    assert task_scores(merged) == expected
    shards = {row[0] for row in sqlite3.connect(merged).execute("SELECT shard FROM runs")}
    assert shards == {"1/2", "2/2"}
    again = invoke(gradebook, ["merge", str(merged), *map(str, parts)])
    assert "merged 0 run(s)" in again.output and "2 run(s) were already there" in again.output
    assert task_scores(merged) == expected


def test_merge_refuses_what_is_not_a_gradebook(tmp_path):
    (tmp_path / "junk.sqlite").write_text("not a database at all, just text" * 100)
    result = invoke(gradebook, ["merge", str(tmp_path / "out.sqlite"), str(tmp_path / "junk.sqlite")])
    assert result.exit_code == 2 and "not a gradebook" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None) as local:
        yield local


def test_dask_grades_each_submission_in_its_own_child_process(cluster):
    from dask.distributed import Client

    jobs = [Job(name, {"basics.py": SOLUTION["basics"].encode()}, ["basics"], select="test_relu_matches")
            for name in ("one", "two", "three")]
    with DaskExecutor(cluster.scheduler_address) as executor:
        results = dict((job.student, result) for job, result in executor.map(jobs))
    with Client(cluster.scheduler_address) as client:
        worker_pids = set(client.run(os.getpid).values())
    children = {result["pid"] for result in results.values()}
    assert len(children) == 3 and not children & worker_pids and os.getpid() not in children
    assert all(result["status"] == "graded" and result["report"]["score"] > 0 for result in results.values())


def test_dask_executor_fills_the_same_gradebook(graded_class, cluster, tmp_path):
    students = same_class(tmp_path / "submissions")
    summary = grade(tmp_path / "submissions", tmp_path / "out",
                    options(executor="dask", scheduler=cluster.scheduler_address))
    assert summary.graded == 3 and [s for s, _ in summary.rejected] == ["trudy"]
    expected = {key: value for key, value in task_scores(graded_class.db).items() if key[0] in students}
    assert task_scores(tmp_path / "out" / "gradebook.sqlite") == expected
    run = sqlite3.connect(tmp_path / "out" / "gradebook.sqlite").execute("SELECT options FROM runs").fetchone()
    assert json.loads(run[0])["executor"] == "dask"
