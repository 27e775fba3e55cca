"""What the claims say, written: the claims rule's tables and page, `vaebench verdicts` on a
runs table of one's own (the same code), and the lines of `vaebench summary`. No torch.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis.render import interactive_table, render_html
from ..data import write_atomic
from .match import match_claims, table_facts
from .verdicts import VERDICTS, evaluate

CLAIMS_CAPTION = (
    "Each claim of the papers (config/claims/<paper>.yaml) tested on the runs of the study it "
    "applies to; docs/analysis.md \"Claims and verdicts\" says how. holds / contradicted: "
    "p_holm (or p_holm_against) below 0.05 and the effect at least its minimum; negligible: "
    "significant but smaller; fragile: the verdict changes when diverged (or collapsed) runs "
    "are read the other way; effect > 0 supports the claim.")

PARTS_CAPTION = ("Every part of every claim under every reading: its n, effect, interval, the "
                 "median difference in the metric's units, one-sided p for and against the "
                 "claim, and its floor (min_p).")


def write_claims(papers: list[dict], matches: list[dict], tables: dict[str, pd.DataFrame],
                 axes: dict[str, list[str]], figures: dict[str, dict], claims_out, parts_out,
                 html_out=None, per_study: dict[str, str] | None = None,
                 notes: dict[str, str] | None = None) -> pd.DataFrame:
    """The claims rule and `vaebench verdicts`: every verdict (claims_out), the parts
    (parts_out), the report page and each study's own claims.csv (per_study: study -> path)."""
    claims, parts = evaluate(papers, matches, tables, axes, figures, notes=notes)
    write_atomic(claims_out, claims.to_csv(index=False))
    write_atomic(parts_out, parts.to_csv(index=False))
    for study, path in (per_study or {}).items():
        write_atomic(path, claims[claims["study"] == study].to_csv(index=False))
    if html_out is not None:
        write_atomic(html_out, render_html("Do the papers' findings hold?", [
            ("Verdicts", CLAIMS_CAPTION, verdict_table(claims, html_out, full=True)),
            ("The parts of each claim", PARTS_CAPTION, parts),
        ], where=html_out))
    return claims


VERDICT_COLUMNS = ("claim", "paper §", "verdict", "effect [95% CI]", "n", "figure")


def verdict_table(claims: pd.DataFrame, where, full: bool = False) -> str:
    """The verdicts as a sortable table (HTML): the claim's words, the paper and section, a
    coloured badge, the effect with its interval drawn on a shared -1..1 axis, n runs and a
    link to the figure; `full` adds the study, Holm's p both ways and the reason."""
    page = Path(os.path.abspath(where)).parent
    rows = []
    # the answers first: decided, then undecided, then not run (each in the files' order)
    claims = claims.iloc[claims["verdict"].map(VERDICTS.index).argsort(kind="stable")]
    for row in claims.itertuples():
        figure = str(row.figure)
        link = (f"<a href='{html.escape(os.path.relpath(os.path.abspath(figure), page))}'>"
                f"{html.escape(Path(figure).name)}</a>" if figure else "")
        out = {"claim": f"<div class='wide'><b>{html.escape(row.claim_id)}</b> "
                        f"{html.escape(row.claim)}</div>",
               "paper §": html.escape(f"{row.paper} {row.section}"),
               "verdict": badge(row.verdict),
               "effect [95% CI]": forest(row.effect, row.ci_low, row.ci_high, row.effect_measure),
               "n": "" if row.verdict == "not run" else str(row.n_runs), "figure": link}
        if full:
            out |= {"study": html.escape(str(row.study)),
                    "p_holm": html.escape(_p(row.p_holm)),
                    "p_holm_against": html.escape(_p(row.p_holm_against)),
                    "reason": f"<div class='wide small'>{html.escape(str(row.reason))}</div>"}
        rows.append(out)
    table = pd.DataFrame(rows, columns=[*VERDICT_COLUMNS, *(
        ("study", "p_holm", "p_holm_against", "reason") if full else ())])
    return interactive_table(table, where, html_columns=tuple(table.columns))


def badge(verdict: str) -> str:
    return f"<span class='badge {verdict.replace(' ', '-')}'>{html.escape(verdict)}</span>"


def forest(effect, low, high, measure: str, width: int = 150, height: int = 18) -> str:
    """The effect (dot) and its 95% interval (line) on an axis from -1 to 1 with 0 marked;
    the numbers and the measure in the tooltip. Empty where nothing was estimated."""
    effect, low, high = (pd.to_numeric(v, errors="coerce") for v in (effect, low, high))
    if not np.isfinite(effect):
        return ""

    def x(v: float) -> float:
        return width / 2 + (width / 2 - 4) * float(np.clip(v, -1, 1))

    interval = (f"<line x1='{x(low):.1f}' x2='{x(high):.1f}' y1='9' y2='9' stroke='#333' "
                "stroke-width='2'/>" if np.isfinite(low) and np.isfinite(high) else "")
    text = f"{effect:+.2f}" + (f" [{low:.2f}, {high:.2f}]" if interval else "")
    return (f"<span style='white-space:nowrap' data-order='{effect:.4f}' "
            f"title='{html.escape(str(measure))}'>"
            f"<svg width='{width}' height='{height}' role='img' aria-label='{text}'>"
            f"<line x1='4' x2='{width - 4}' y1='9' y2='9' stroke='#e4e4e4'/>"
            f"<line x1='{width / 2}' x2='{width / 2}' y1='0' y2='{height}' stroke='#bbb'/>"
            f"{interval}<circle cx='{x(effect):.1f}' cy='9' r='4' fill='#0969da'/></svg> "
            f"<span class='num'>{text}</span></span>")


def _p(value) -> str:
    value = pd.to_numeric(value, errors="coerce")
    return "" if not np.isfinite(value) else f"{value:.2g}"


def verdicts_on_table(papers: list[dict], table: pd.DataFrame, study: str,
                      claims_out, parts_out) -> pd.DataFrame:
    """Every claim of `papers` matched to a runs table and tested, as the claims rule does."""
    columns = list(table.columns)
    facts = table_facts(study, table.to_dict("records"), columns)
    claims = [c for p in papers for c in p["claims"]]
    matches = match_claims(claims, [facts])
    notes = {}
    for claim in claims:
        unknown = sorted(set(claim["applies_to"]["settings"]) & facts["unknown_settings"])
        if unknown:
            notes[claim["id"]] = "assumed, the table has no column: " + ", ".join(
                f"{k} ({claim['applies_to']['settings'][k]})" for k in unknown)
    axes = [a for a in columns if a in facts["levels"]]
    return write_claims(papers, matches, {study: table}, {study: axes}, {}, claims_out,
                        parts_out, notes=notes)


def claim_lines(claims: pd.DataFrame, width: int = 110) -> list[str]:
    """One line per claim (and study) for `vaebench summary` and `vaebench verdicts`: id,
    verdict, study, the effect and p_holm of a tested claim, and the gist of why where it is
    not decided (the whole reason and the claim itself: claims.csv, the report)."""
    lines = []
    for row in claims.itertuples():
        tested = row.verdict != "not run"
        text = f"  {row.claim_id:<4} {row.verdict:<12} {row.study:<16} "
        effect, low, high, p_holm, p_against = (
            pd.to_numeric(v, errors="coerce") for v in
            (row.effect, row.ci_low, row.ci_high, row.p_holm, row.p_holm_against))
        if tested and not np.isnan(effect):
            interval = "" if np.isnan(low) else f" [{low:.2g}, {high:.2g}]"
            name, p_shown = (("p_holm_against", p_against) if effect < 0
                             and np.isfinite(p_against) else ("p_holm", p_holm))
            text += f"effect {effect:.2g}{interval}, {name} {p_shown:.2g}"
        gist = re.split(r"[:;]", str(row.reason))[0] if tested else str(row.reason)
        if row.verdict not in ("holds", "contradicted") and gist:
            text += f"{'; ' if tested and not np.isnan(effect) else ''}{gist}"
        lines.append(text if len(text) <= width else text[:width - 3] + "...")
    return lines
