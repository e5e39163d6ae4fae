"""The similarity report: planted copies rank first, independently written solutions do not."""

from __future__ import annotations

import ast
import re

from gradebook_classes import invoke, write_folder

from grader import paths
from grader.gradebook.similarity import detect, report_similarity
from grader.gradebook.similarity.detect import rank
from grader.gradebook.similarity.fingerprints import tokens

from corpus import mutation



def _read(path) -> str:
    return path.read_text()


def disguise(source: str, names: dict[str, str]) -> str:
    """A copy as a student hides it: names changed, functions and classes reordered, comments and spacing new."""
    tree = ast.parse(source)
    head = [n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    tree.body = head + defs[::-1]
    text = ast.unparse(tree)  # new spacing and quoting; every comment gone
    for old, new in names.items():
        text = re.sub(rf"\b{old}\b", new, text)
    return "\n".join(f"{line}  # step" if line.strip().startswith("return") else line for line in text.splitlines())


def dcgan_class() -> dict[str, str]:
    reference = _read(paths.SOLUTIONS_DIR / "dcgan.py")
    functional = mutation("dcgan", "correct_functional_style").text()
    return {
        "reference": reference, "functional": functional,
        "sequential": mutation("dcgan", "correct_sequential_style").text(),
        "skeleton": _read(paths.ASSIGNMENTS_DIR / "dcgan.py"),
        "copy_of_reference": disguise(reference, {"ngf": "width_g", "ndf": "width_d", "real": "genuine",
                                                  "fake": "forged", "layers": "stack"}),
        "copy_of_functional": disguise(functional, {"levels": "depth", "width": "channels_now", "h": "act"}),
    }


def test_renamed_names_comments_and_spacing_give_the_same_tokens():
    one = "def f(x, y):\n    # add\n    return torch.add(x, y)  # sum\n"
    two = "def  plus(a,b):\n    '''Docs.'''\n\n    return torch.add( a , b )\n"
    assert [t.text for t in tokens(one)] == [t.text for t in tokens(two)]
    assert [t.text for t in tokens(one)] != [t.text for t in tokens(one.replace("add", "sub"))]


def test_planted_copies_rank_first_and_independent_solutions_do_not_look_copied():
    result = rank("dcgan", dcgan_class(), _read(paths.ASSIGNMENTS_DIR / "dcgan.py"))
    top = [{p.a, p.b} for p in result.pairs[:2]]
    assert {"reference", "copy_of_reference"} in top and {"functional", "copy_of_functional"} in top
    for pair in result.pairs:
        smaller = min(len(result.codes[pair.a].tokens), len(result.codes[pair.b].tokens))
        share = pair.shared / smaller
        if {pair.a, pair.b} in top:
            assert share > 0.75, (pair.a, pair.b, share)
        else:
            assert share < 0.35, (pair.a, pair.b, share)
    assert not any("skeleton" in (p.a, p.b) for p in result.pairs)  # the skeleton is all boilerplate


def test_the_skeleton_is_boilerplate():
    skeleton = _read(paths.ASSIGNMENTS_DIR / "basics.py")
    assert rank("basics", {"a": skeleton, "b": skeleton}, skeleton).pairs == []
    assert rank("basics", {"a": skeleton, "b": skeleton}, None).pairs[0].shared > 100


def test_the_command_writes_a_ranked_report_with_a_page_per_pair(tmp_path):
    from grader.gradebook.cli import similarity_command

    for student, source in dcgan_class().items():
        write_folder(tmp_path / "submissions" / student, {"dcgan.py": source})
    result = invoke(similarity_command, [str(tmp_path / "submissions"), "--out", str(tmp_path / "out"), "-p", "dcgan"])
    assert result.exit_code == 0, result.output
    assert "most: copy_of_" in result.output
    folder = tmp_path / "out" / "similarity"
    index = (folder / "index.html").read_text()
    assert index.index("copy_of_") < index.index("sequential")
    pages = list((folder / "dcgan").glob("*.html"))
    assert len(pages) == len(detect(tmp_path / "submissions", ["dcgan"]).practices[0].pairs)
    pair = (folder / "dcgan" / "copy_of_functional--functional.html").read_text()
    assert 'class="r0"' in pair and "shared tokens" in pair
    assert (folder / "pairs.csv").read_text().splitlines()[1].startswith("dcgan,1,copy_of_")


def test_bad_input_is_one_line(tmp_path):
    from grader.gradebook.cli import similarity_command

    result = invoke(similarity_command, [str(tmp_path / "nothing"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "no such folder" in result.output
    write_folder(tmp_path / "subs" / "ann", {"notes.txt": "x"})
    result = invoke(similarity_command, [str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "-p", "basics"])
    assert result.exit_code == 2 and "no practice file of basics" in result.output


def test_detect_reads_submissions_as_grading_does(tmp_path):
    write_folder(tmp_path / "ann", {"basics (1).py": "x = 1\n"})
    (tmp_path / "ben").mkdir()
    result = detect(tmp_path, ["basics"])
    assert set(result.practices[0].codes) == {"ann"}
    assert [s for s, _ in result.skipped] == ["ben"]
    assert report_similarity(tmp_path, tmp_path / "out", ["basics"])[1]
