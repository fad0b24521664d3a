"""A tiny self-contained HTML page builder: headings, tables and matplotlib figures inlined as PNG."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import Any

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}
th{background:#f3f3f3}.bad{color:#b00;font-weight:bold}.ok{color:#070}img{max-width:100%}
pre{background:#f7f7f7;padding:.6em;font-size:12px;overflow-x:auto}details{margin:.3em 0 1em}"""


def fmt(v: Any) -> str:
    """A metric for a table cell: 4 decimals, "–" when missing (None or NaN)."""
    return "–" if v is None or v != v else f"{v:.4f}" if isinstance(v, float) else str(v)


class Page:
    """Append sections, then `render()` to one HTML string."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.parts: list[str] = [f"<h1>{html.escape(title)}</h1>"]

    def heading(self, text: str) -> None:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")

    def text(self, text: str) -> None:
        self.parts.append(f"<p>{html.escape(text)}</p>")

    def link(self, text: str, href: str) -> None:
        self.parts.append(f'<p><a href="{html.escape(href)}">{html.escape(text)}</a></p>')

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]], flag_col: int | None = None) -> None:
        """A table; with `flag_col`, a cell that is False is shown as a failure."""
        out = ["<table><tr>", *[f"<th>{html.escape(str(h))}</th>" for h in header], "</tr>"]
        for r in rows:
            cells = []
            for i, v in enumerate(r):
                cls = ""
                if flag_col == i:
                    cls = ' class="ok"' if v else ' class="bad"'
                cells.append(f"<td{cls}>{html.escape(str(v))}</td>")
            out.append("<tr>" + "".join(cells) + "</tr>")
        self.parts.append("".join(out) + "</table>")

    def code(self, summary: str, text: str) -> None:
        """Text shown as code under a folded summary line (e.g. the SQL behind an answer)."""
        self.parts.append(f"<details><summary>{html.escape(summary)}</summary><pre>{html.escape(text)}</pre></details>")

    def figure(self, fig: Any) -> None:
        """Inline a matplotlib figure as a PNG (and close it)."""
        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
        plt.close(fig)
        self.parts.append(f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">')

    def render(self) -> str:
        return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>"
                f"<style>{STYLE}</style></head><body>{''.join(self.parts)}</body></html>")
