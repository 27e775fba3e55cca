"""Readable HTML for the tables: a heading, a caption and a table per section."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd


def render_html(title: str, sections: list) -> str:
    """A small self-contained HTML page: a heading, a caption and a table per section. Rows
    whose comparison survives Holm's correction are bold."""
    parts = [f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}"
             "</title><style>body{font-family:sans-serif;margin:1.5em}"
             "table{border-collapse:collapse;font-size:0.85em;margin-bottom:2em}"
             "th,td{border:1px solid #bbb;padding:2px 6px;text-align:right}"
             "th{background:#eee}tr.sig td{font-weight:bold}p{max-width:60em}</style></head>"
             f"<body>\n<h1>{html.escape(title)}</h1>\n"]
    for heading, caption, table in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>\n<p>{html.escape(caption)}</p>\n")
        if table.empty:
            parts.append("<p><em>Nothing to compare in this study.</em></p>\n")
            continue
        parts.append(_html_table(table))
    parts.append("</body></html>\n")
    return "".join(parts)


def _html_cell(column: str, value) -> str:
    if isinstance(value, bool | np.bool_):
        return "yes" if value else ""
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return ""
        return f"{value:.3g}" if column in ("p", "p_holm") else f"{value:.4g}"
    return html.escape(str(value))


def _html_table(table: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for record in table.to_dict("records"):
        significant = record.get("significant", False)
        mark = " class='sig'" if isinstance(significant, bool | np.bool_) and significant else ""
        cells = "".join(f"<td>{_html_cell(c, v)}</td>" for c, v in record.items())
        rows.append(f"<tr{mark}>{cells}</tr>")
    return f"<table><tr>{head}</tr>\n" + "\n".join(rows) + "\n</table>\n"
