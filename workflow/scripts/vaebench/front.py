"""The front page of the results (`<results>/index.html`): the answer in one screen. The papers'
verdicts first (claim, section, badge, effect with its interval, n, figure), then per study its
runs by status and how many collapsed, with links to its pages and figures, then the latent
quality of each model beside its baselines (PCA, the genes, the untrained encoder). One file:
the figure is inlined, the table library too (analysis.render), so it opens from anywhere.
"""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path

import pandas as pd

from .analysis.render import interactive_table, render_html
from .claims.report import verdict_table
from .claims.verdicts import VERDICTS
from .config import display_name

# The latent score the dot plot shows, and the baselines beside it (latent.csv's columns).
SCORE, BASELINES = "knn_accuracy", ("pca", "genes", "untrained")


def front_page(title: str, studies: dict[str, dict], claims_csv, out) -> str:
    """The page's HTML. studies: study -> {runs, latent (or None): tables; pages: {label: path};
    model: the study's model where its grid has no model axis},
    claims_csv: the claims job's claims.csv (None: no claims); out: the page's own path."""
    runs = {s: pd.read_csv(spec["runs"], keep_default_na=False) for s, spec in studies.items()}
    n_runs = sum(len(t) for t in runs.values())
    intro = f"{n_runs} training runs in {len(studies)} studies."
    sections = []
    if claims_csv is not None:
        claims = pd.read_csv(claims_csv, keep_default_na=False)
        counts = claims["verdict"].value_counts()
        intro += (" The papers' claims: "
                  + ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts.get(v, 0)) + ".")
        sections.append(("Do the papers' findings hold?",
                         "Each claim tested on the study of this config it fits; the effect is "
                         "the claim's own measure, > 0 in the paper's direction (its name in the "
                         "tooltip). Why each verdict: the claims page.",
                         verdict_table(claims, out)))
    sections.append(("The studies", "Runs by status and how many collapsed (no active latent "
                     "unit, or almost no KL); each study's pages and figures are linked.",
                     interactive_table(study_table(runs, studies, out), out,
                                       html_columns=("study", "pages"))))
    latent = {s: with_model(pd.read_csv(spec["latent"]), spec["model"])
              for s, spec in studies.items() if spec["latent"]}
    if latent:
        sections.append(("Latent quality beside the baselines",
                         f"The median {SCORE} (cancer types from a 15-nearest-neighbour vote) of "
                         "each model's finished runs, beside PCA of the same width, the genes "
                         "themselves and the encoder before training.",
                         f"<img alt='latent quality per model and its baselines' "
                         f"src='data:image/png;base64,{quality_png(latent)}'>\n"))
    return render_html(title, sections, where=out, intro=html.escape(intro))


def with_model(table: pd.DataFrame, model: str) -> pd.DataFrame:
    """A study without a model axis has no model column: its one model."""
    return table if "model" in table else table.assign(model=model)


def study_table(runs: dict[str, pd.DataFrame], studies: dict[str, dict], out) -> pd.DataFrame:
    page = Path(os.path.abspath(out)).parent
    rows = []
    for study, table in runs.items():
        status = table["status"].value_counts()
        collapsed = table.get("collapsed", pd.Series(dtype=str)).astype(str)
        judged = collapsed.isin(["True", "False"])
        links = " · ".join(
            f"<a href='{html.escape(os.path.relpath(os.path.abspath(path), page))}'>"
            f"{html.escape(label)}</a>" for label, path in studies[study]["pages"].items())
        rows.append({"study": f"<b>{html.escape(study)}</b>", "runs": len(table),
                     "ok": int(status.get("ok", 0)), "diverged": int(status.get("diverged", 0)),
                     "failed": int(status.get("failed", 0)),
                     "collapsed": f"{int((collapsed == 'True').sum())} of {int(judged.sum())}",
                     "pages": links})
    return pd.DataFrame(rows)


def quality_png(latent: dict[str, pd.DataFrame]) -> str:
    """A dot plot, one row per study and model: the median score of its finished runs (filled)
    and of each baseline (open), on a shared 0..1 axis; base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = []
    for study, table in latent.items():
        ok = table[table["status"] == "ok"]
        for model, part in ok.groupby("model", sort=False):
            rows.append((f"{study}: {display_name(model)}", part[SCORE].median(),
                         {b: part[f"{SCORE}_{b}"].median() for b in BASELINES
                          if f"{SCORE}_{b}" in part}))
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(rows) + 1.0), dpi=110)
    markers = {"pca": ("s", "#e69f00"), "genes": ("D", "#009e73"), "untrained": ("^", "#999")}
    for y, (_, score, baselines) in enumerate(rows):
        for name, value in baselines.items():
            marker, colour = markers[name]
            ax.scatter(value, y, marker=marker, facecolors="none", edgecolors=colour, s=36,
                       label=name if y == 0 else None)
        ax.scatter(score, y, color="#0969da", s=40, zorder=3, label="trained" if y == 0 else None)
    ax.set_yticks(range(len(rows)), [label for label, _, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.02)
    ax.set_xlabel(f"{SCORE} (median of the finished runs)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=7, ncols=4, frameon=False,
              bbox_to_anchor=(1, 1), borderaxespad=0.2)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()
