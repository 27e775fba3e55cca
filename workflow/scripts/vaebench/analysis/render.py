"""The HTML pages of the results, each one file that works offline: a title, a caption of at
most two sentences (the rest one click away), and tables that sort and filter.

The tables are DataTables, as the pinned `itables` package bundles them (no CDN: the bundle is
inlined once per page; docs/decisions.md says why this library). Numbers are rounded to what
they carry (three significant digits, p values two), a cell holding a list of numbers (such as
`kl_per_dim`) is drawn as a sparkline, and each column whose meaning docs/analysis.md gives
has it as a header tooltip, with a link to that table of the docs.
"""

from __future__ import annotations

import html
import os
import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

# docs/analysis.md of a checkout (absent from an installed package: no tooltips then)
ANALYSIS_DOCS = Path(__file__).resolve().parents[4] / "docs" / "analysis.md"
STYLE = ("body{font-family:system-ui,sans-serif;margin:1.2em 2em;color:#222}"
         "h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em}"
         "p.caption{max-width:60em;margin:.3em 0}details{max-width:60em;font-size:.9em}"
         "table.dataTable{font-size:.85em}th abbr{text-decoration:none;cursor:help}"
         "th a.doc{font-size:.75em;margin-left:.2em;text-decoration:none}"
         ".badge{display:inline-block;padding:1px 7px;border-radius:9px;color:#fff;"
         "font-size:.85em;white-space:nowrap}"
         ".holds{background:#1a7f37}.contradicted{background:#cf222e}"
         ".negligible{background:#8c959f}.fragile{background:#bf8700}"
         ".inconclusive{background:#57606a}.not-run{background:#d0d7de;color:#222}"
         "td{vertical-align:middle}td svg{vertical-align:middle}.num{white-space:nowrap;"
         "font-variant-numeric:tabular-nums;font-size:.9em}div.wide{min-width:22em}"
         ".small{font-size:.9em}")
ABBREVIATIONS = ("e.g.", "i.e.", "al.", "vs.", "cf.")
P_COLUMNS = ("p", "p_holm", "p_against", "p_holm_against", "floor_holm", "min_p")


def render_html(title: str, sections: list, where=None, intro: str = "") -> str:
    """A page: `title`, an `intro` paragraph, then per section (heading, caption, table or
    HTML) its heading, its caption's first two sentences (the rest under "More") and the
    table. `where`: the page's path, for the links to the docs."""
    parts = [page_head(title), f"<h1>{html.escape(title)}</h1>\n"]
    if intro:
        parts.append(f"<p class='caption'>{intro}</p>\n")
    for heading, caption, content in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>\n{caption_html(caption)}")
        if isinstance(content, str):
            parts.append(content)
        elif content.empty:
            parts.append("<p><em>Nothing to compare in this study.</em></p>\n")
        else:
            parts.append(interactive_table(content, where))
    parts.append("</body></html>\n")
    return "".join(parts)


def page_head(title: str) -> str:
    """The page's head and the table library, inlined once."""
    import itables
    from itables.javascript import generate_init_offline_itables_html

    bundle = Path(itables.__file__).parent / "html" / "dt_bundle.js"
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
            + generate_init_offline_itables_html(bundle) + "\n")


def caption_html(caption: str) -> str:
    """The caption's first two sentences; the rest folded under "More"."""
    sentences: list[str] = []
    for piece in re.split(r"(?<=[.;])\s+", caption.strip()):
        if sentences and (sentences[-1].endswith(ABBREVIATIONS) or piece[:1].isdigit()):
            sentences[-1] += " " + piece  # "e.g. x", "et al. 2016": one sentence
        else:
            sentences.append(piece)
    shown, rest = " ".join(sentences[:2]), " ".join(sentences[2:])
    out = f"<p class='caption'>{html.escape(shown)}</p>\n"
    if rest:
        out += f"<details><summary>More</summary><p>{html.escape(rest)}</p></details>\n"
    return out


def interactive_table(table: pd.DataFrame, where=None, html_columns=()) -> str:
    """A table that sorts (click a header) and filters (the search box); `html_columns` hold
    HTML already (badges, plots), every other cell is escaped."""
    from itables import to_html_datatable

    shown = pd.DataFrame({_header(c, where): [_cell(c, v, c in html_columns)
                                             for v in table[c]] for c in table.columns})
    return to_html_datatable(
        shown, connected=False, allow_html=True, paging=len(shown) > 100, showIndex=False,
        classes="display compact", maxBytes=0, display_logo_when_loading=False,
        text_in_header_can_be_selected=False, autoWidth=False,
        layout={"topStart": None, "topEnd": "search", "bottomStart": "info",
                "bottomEnd": "paging"}) + "\n"


def _header(column: str, where) -> str:
    meaning, anchor = column_meanings().get(column, (None, None))
    name = html.escape(str(column))
    if meaning is None:
        return name
    link = ""
    if where is not None:
        target = os.path.relpath(ANALYSIS_DOCS, Path(os.path.abspath(where)).parent)
        link = f"<a class='doc' href='{html.escape(target)}#{anchor}' title='docs'>?</a>"
    return f"<abbr title='{html.escape(meaning)}'>{name}</abbr>{link}"


def _cell(column: str, value, is_html: bool):
    if is_html:
        return value
    if isinstance(value, bool | np.bool_):
        return "yes" if value else ""
    if isinstance(value, float | np.floating):
        if not np.isfinite(value):
            return "" if np.isnan(value) else str(value)
        return float(f"{value:.{2 if column in P_COLUMNS else 3}g}")
    if isinstance(value, int | np.integer):
        return int(value)
    numbers = _numbers(value)
    if numbers is not None:
        return sparkline(numbers)
    return html.escape(str(value))


def _numbers(value) -> list[float] | None:
    """The numbers of a cell that lists more than three (space-separated), else None."""
    if not isinstance(value, str) or value.count(" ") < 3:
        return None
    try:
        return [float(v) for v in value.split()]
    except ValueError:
        return None


def sparkline(values: list[float], width: int = 90, height: int = 16) -> str:
    """The values as a small bar chart (SVG), each bar's value in its tooltip; the cell sorts
    by the largest value."""
    top = max((v for v in values if np.isfinite(v)), default=0) or 1.0
    step = width / len(values)
    bars = "".join(
        f"<rect x='{i * step:.1f}' y='{height - height * max(v, 0) / top:.1f}' "
        f"width='{max(step - 1, 1):.1f}' height='{height * max(v, 0) / top:.1f}' fill='#4a7bb7'>"
        f"<title>{v:.3g}</title></rect>" for i, v in enumerate(values) if np.isfinite(v))
    return (f"<span data-order='{top:.6g}'><svg width='{width}' height='{height}' "
            f"role='img' aria-label='{len(values)} values, largest {top:.3g}'>{bars}</svg>"
            "</span>")


@cache
def column_meanings() -> dict[str, tuple[str, str]]:
    """{column: (meaning, anchor of its table's heading)} from docs/analysis.md's tables of
    columns (`| \\`a\\`, \\`b\\` | meaning |`); empty without the docs."""
    if not ANALYSIS_DOCS.is_file():
        return {}
    meanings, anchor = {}, ""
    for line in ANALYSIS_DOCS.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            anchor = re.sub(r"[^\w\- ]", "", line.lstrip("# ").lower()).replace(" ", "-")
        cells = line.split("|")
        if len(cells) >= 4 and "`" in cells[1]:
            meaning = re.sub(r"`", "", cells[2].strip())
            for column in re.findall(r"`([^`]+)`", cells[1]):
                meanings.setdefault(column, (meaning, anchor))
    return meanings
