"""`python -m grader.gradebook grade|export|gradebook ...`: the same commands as `bootcamp`."""

import click

from grader.gradebook.cli import export_command, grade_command, gradebook


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Batch grading: grade a folder of submissions, export the grades, merge gradebooks."""


main.add_command(grade_command)
main.add_command(export_command)
main.add_command(gradebook)

if __name__ == "__main__":
    main(prog_name="python -m grader.gradebook")
