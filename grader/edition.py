"""Which edition of the course this checkout is.

The instructor's edition (this repository) holds the reference solutions, the hidden tests and
every command. The student edition, built by `bootcamp release --student`, is a copy in which this
flag is True: there the CLI offers only `check`, `list`, `train` and `data`, and `bootcamp check`
reports the tests only the instructor runs by count and points (`grader.withheld`).
"""

STUDENT = False
