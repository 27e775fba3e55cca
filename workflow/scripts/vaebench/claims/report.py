"""What the claims say, written: the claims rule's tables and page, `vaebench verdicts` on a
runs table of one's own (the same code), and the lines of `vaebench summary`. No torch.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..analysis.render import render_html
from ..data import write_atomic
from .match import match_claims, table_facts
from .verdicts import evaluate

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
        shown = claims[["paper", "claim_id", "section", "claim", "study", "verdict", "effect",
                        "ci_low", "ci_high", "p_holm", "p_holm_against", "reason",
                        "other_readings", "paper_figure", "figure"]]
        write_atomic(html_out, render_html("Do the papers' findings hold?", [
            ("Verdicts", CLAIMS_CAPTION, shown),
            ("The parts of each claim", PARTS_CAPTION, parts),
        ]))
    return claims


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
