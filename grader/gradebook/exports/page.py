"""The HTML pages' common frame: one self-contained file, its style, and escaping.

Every page the gradebook writes (feedback, the class summary, the similarity report) is one file
that loads nothing: its style is inline, its pictures are `data:` URIs, it has no script. Anything
that came from a submission (ids, messages, printed output, code) goes through `e`, which writes
control characters out (`student_text.visible`) and escapes markup, so a `<script>` in a
student's output is shown as text. The layout wraps rather than scrolls sideways, from a phone's
390 px to a desktop.
"""

from __future__ import annotations

import base64
import html

from grader.student_text import visible

STYLE = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:72rem;margin:0 auto;padding:1rem;
 color:#1f2328;line-height:1.45;overflow-wrap:anywhere}
h1{font-size:1.6rem;margin:.5rem 0}h2{font-size:1.3rem;margin:1.6rem 0 .5rem;border-bottom:1px solid #d0d7de}
h3{font-size:1.05rem;margin:1rem 0 .3rem}
table{border-collapse:collapse;margin:.5rem 0;max-width:100%}
td,th{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;white-space:nowrap}
.wide{display:block;overflow-x:auto}
pre,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
pre{background:#f6f8fa;padding:.5rem;white-space:pre-wrap;overflow-wrap:anywhere;margin:.3rem 0}
img{max-width:100%;height:auto}
.badge{display:inline-block;padding:0 .45rem;border-radius:1rem;font-size:.85rem;white-space:nowrap;
 background:#eaeef2}
.passed{background:#dafbe1;color:#116329}.failed,.error,.timeout{background:#ffebe9;color:#a40e26}
.not-implemented,.skipped{background:#eaeef2;color:#57606a}.not-submitted,.missing{background:#fff8c5;color:#7d4e00}
.bar{height:.6rem;background:#eaeef2;border-radius:.3rem;overflow:hidden;max-width:24rem}
.bar span{display:block;height:100%;background:#2da44e}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:.75rem;margin:.5rem 0}
.card{border:1px solid #d0d7de;border-radius:.4rem;padding:.5rem .75rem}
.card a{font-weight:600}
.notice{border-left:4px solid #bf8700;background:#fff8c5;padding:.5rem .75rem;margin:.5rem 0}
.task{border:1px solid #d0d7de;border-radius:.4rem;padding:.5rem .75rem;margin:.6rem 0}
.task header{display:flex;flex-wrap:wrap;gap:.25rem .75rem;align-items:baseline}
.task header .points{margin-left:auto;white-space:nowrap}
.pictures{display:flex;flex-wrap:wrap;gap:.75rem}figure{margin:0;max-width:100%}
figcaption{font-size:.85rem;color:#57606a}
.muted{color:#57606a}
"""


def e(text: object) -> str:
    """Text from anywhere (a submission included) as HTML text: controls written out, markup escaped."""
    return html.escape(visible(str(text)), quote=True)


def css_class(status: str) -> str:
    return "-".join(status.split())


def badge(status: str) -> str:
    return f'<span class="badge {e(css_class(status))}">{e(status)}</span>'


def png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def page(title: str, body: list[str], *, extra_style: str = "") -> str:
    """A whole page: the frame, the style, and `body` (HTML already escaped)."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
            "style-src 'unsafe-inline'\">"
            f"<title>{e(title)}</title><style>{STYLE}{extra_style}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
