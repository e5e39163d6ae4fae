"""`bootcamp check basics` on FOLDER, as the `bootcamp` command runs it (the sandbox's mother
first): used by test_sandbox_view to grade as an ordinary user, the way students run it.

    python tests/check_as_student.py FOLDER        # writes FOLDER/report.json
"""

import sys

from grader import launch

folder = sys.argv[1]
sys.argv = ["bootcamp", "check", "basics", "--path", folder, "--json", f"{folder}/report.json"]
launch.main()
