"""The similarity report: `similarity/index.html`, a page per pair, and `similarity/pairs.csv`.

    index.html                         per practice, the pairs ranked by shared code (top `top`)
    <practice>/<a>--<b>.html           the pair side by side, shared regions numbered and marked
    pairs.csv                          practice, rank, student_a, student_b, shared_tokens, ...

A pair page shows both files whole, line by line; a line that holds a shared region's tokens is
marked in the region's colour and carries its number, the same number on both sides. Everything
from a submission (ids, code) is escaped; the pages load nothing and run no script.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from grader.gradebook.exports.names import safe_name
from grader.gradebook.exports.page import e, page
from grader.atomic import write_atomically
from grader.gradebook.similarity.detect import Pair, PracticeResult, Result
from grader.gradebook.similarity.fingerprints import K, WINDOW, Code, line_regions

TOP = 50
COLOURS = ("#ffd8a8", "#b2f2bb", "#a5d8ff", "#eebefa", "#ffec99", "#c3fae8", "#fcc2d7", "#d0bfff")
_STYLE = ("".join(f".r{i}{{background:{c}}}" for i, c in enumerate(COLOURS))
          + ".sides{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:1rem}"
          ".code{border:1px solid #d0d7de;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.8rem}"
          ".code div{display:grid;grid-template-columns:3rem 2.2rem 1fr;white-space:pre-wrap}"
          ".code .ln,.code .rg{color:#57606a;text-align:right;padding-right:.4rem;user-select:none}")


def pair_file(pair: Pair) -> str:
    return f"{safe_name(pair.practice)}/{safe_name(pair.a)}--{safe_name(pair.b)}.html"


def _percent(covered: int, code: Code) -> str:
    return f"{100 * covered / len(code.tokens):.0f}%" if code.tokens else "0%"


def index_html(result: Result, top: int = TOP) -> str:
    body = ["<h1>Similarity of the submissions</h1>",
            f"<p>Per practice, the pairs of submissions that share the most code, measured in tokens "
            f"(identifiers normalised, comments, spacing and docstrings ignored; runs of at least {K} tokens, "
            f"winnowing window {WINDOW}). The skeleton's code is discounted as boilerplate, and so is code "
            "that most of the class shares. Shared code is a reason to look, not a verdict: open a pair "
            "to see what it shares.</p>"]
    for practice in result.practices:
        body += _practice_html(practice, top)
    if result.skipped:
        body += ["<h2>Not compared</h2>", "<table><tr><th>student</th><th>why</th></tr>"]
        body += [f"<tr><td>{e(s)}</td><td>{e(why)}</td></tr>" for s, why in result.skipped]
        body.append("</table>")
    return page("Similarity of the submissions", body)


def _practice_html(practice: PracticeResult, top: int) -> list[str]:
    body = [f'<h2 id="{e(practice.practice)}">{e(practice.practice)}</h2>',
            f"<p>{len(practice.codes)} file(s); {len(practice.pairs)} pair(s) share code; "
            f"{practice.skeleton_kgrams} k-grams of the skeleton and {practice.common_kgrams} shared by most of "
            "the class discounted.</p>"]
    if not practice.pairs:
        return body + ["<p>No two files share code beyond the boilerplate.</p>"]
    body.append('<table class="wide"><tr><th>#</th><th>student A</th><th>student B</th><th>shared tokens</th>'
                "<th>of A</th><th>of B</th><th>regions</th></tr>")
    for rank, pair in enumerate(practice.pairs[:top], 1):
        a, b = practice.codes[pair.a], practice.codes[pair.b]
        body.append(f'<tr><td class="n">{rank}</td><td>{e(pair.a)}</td><td>{e(pair.b)}</td>'
                    f'<td class="n"><a href="{e(pair_file(pair))}">{pair.shared}</a></td>'
                    f'<td class="n">{_percent(pair.match.covered_a, a)}</td>'
                    f'<td class="n">{_percent(pair.match.covered_b, b)}</td>'
                    f'<td class="n">{len(pair.match.regions)}</td></tr>')
    body.append("</table>")
    if len(practice.pairs) > top:
        body.append(f"<p>{len(practice.pairs) - top} more pair(s) share less code (pairs.csv lists them all).</p>")
    return body


def _code_html(code: Code, marked: dict[int, int]) -> list[str]:
    out = ['<div class="code">']
    for number, line in enumerate(code.source.splitlines() or [""], 1):
        region = marked.get(number)
        css = f' class="r{(region - 1) % len(COLOURS)}"' if region else ""
        out.append(f'<div{css}><span class="ln">{number}</span><span class="rg">{region or ""}</span>'
                   f"<span>{e(line) or ' '}</span></div>")
    return out + ["</div>"]


def pair_html(pair: Pair, practice: PracticeResult) -> str:
    a, b = practice.codes[pair.a], practice.codes[pair.b]
    body = ['<p><a href="../index.html">all pairs</a></p>',
            f"<h1>{e(pair.practice)}: {e(pair.a)} and {e(pair.b)}</h1>",
            f"<p>{pair.shared} shared tokens in {len(pair.match.regions)} region(s): "
            f"{_percent(pair.match.covered_a, a)} of {e(pair.a)}'s tokens, "
            f"{_percent(pair.match.covered_b, b)} of {e(pair.b)}'s. A marked line holds a shared region; "
            "its number is the same on both sides.</p>", '<div class="sides">']
    for name, code, side in ((pair.a, a, "a"), (pair.b, b, "b")):
        body += [f"<section><h2>{e(name)}</h2>"] + _code_html(code, line_regions(code, pair.match.regions, side))
        body.append("</section>")
    body.append("</div>")
    return page(f"{pair.practice}: {pair.a} and {pair.b}", body, extra_style=_STYLE)


def pairs_csv(result: Result) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["practice", "rank", "student_a", "student_b", "shared_tokens", "tokens_a", "tokens_b",
                     "covered_a", "covered_b", "regions"])
    for practice in result.practices:
        for rank, pair in enumerate(practice.pairs, 1):
            writer.writerow([practice.practice, rank, _defused(pair.a), _defused(pair.b), pair.shared,
                             len(practice.codes[pair.a].tokens), len(practice.codes[pair.b].tokens),
                             pair.match.covered_a, pair.match.covered_b, len(pair.match.regions)])
    return buffer.getvalue()


def _defused(cell: str) -> str:
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def write(result: Result, out: Path, top: int = TOP) -> list[Path]:
    """Write the report under `out/similarity/`; return the files written (each atomically)."""
    folder = Path(out) / "similarity"
    written = []
    for practice in result.practices:
        for pair in practice.pairs[:top]:
            target = folder / pair_file(pair)
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(target, pair_html(pair, practice))
            written.append(target)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("pairs.csv", pairs_csv(result)), ("index.html", index_html(result, top))):
        write_atomically(folder / name, text)
        written.append(folder / name)
    return written
