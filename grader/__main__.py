"""`python -m grader`: the `bootcamp` command (for a notebook's kernel, whose PATH may not hold it)."""

from grader.launch import main

main()
