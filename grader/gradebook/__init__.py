"""Batch grading for instructors: a folder of submissions in, a gradebook and exports out.

    submissions  find the submissions in a folder; copy their practice files out safely
    one          the grading host and the child process that grades one submission
    executors    where submissions are graded: a local pool, or Dask distributed
    database     the SQLite gradebook (runs, submissions, practices, tasks, tests)
    grade        the orchestration: plan, resume, grade, record, report changes
    shards       deterministic slices of a class, and merging shard gradebooks
    view         the current grades of a class, read from the gradebook
    late         the late policy
    exports/     grades.csv, Gradescope results.json, feedback, nbgrader, class summary
    cli          the `grade`, `export` and `gradebook` commands

Student code never runs in the coordinating process, nor in the child that grades it: the child
runs the grading suites, which run the student's code in sandbox workers (see `grader.sandbox`).
"""
