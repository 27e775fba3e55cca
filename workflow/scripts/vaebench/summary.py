"""`vaebench summary`: the result on one screen, without opening the report.

Per study of the config: how many of its runs are ok, diverged, failed, running (while some
are) or missing, and its best and worst conditions by the study's outcome: the final validation
loss (the loss of the last epoch, as runs.csv has it), averaged over seeds; lower is better. A
condition is a grid point without its seed. Only runs that finished (ok) enter the means, as in
summary.csv; a condition with diverged, failed or running runs says how many. The models'
objectives differ in scale (InfoVAE's MMD, BetaTCVAE's terms), so a study with several models
ranks its conditions within each model, as the statistics compare them; so do the levels of
reconstruction and kld_weight, which change the loss itself (analysis.by_objective).

Below them, how many runs collapsed (no active latent unit, or almost no KL), per model, with
why and what to try (analysis.collapse_advice).

Last, one line per claim of the papers (config/claims): its verdict, from the claims job's
results/claims/claims.csv; before that job has run, the study each claim will be tested on.

Statuses come from each run's run.json, as the aggregate rule reads them. A run without one is
"running" while its job runs: Snakemake has marked the job's outputs incomplete (in .snakemake/
incomplete/ of its working directory, the folder that holds results/) and still works there
(workdir.unfinished_outputs). Otherwise it is "failed" if its job started and ended without a
record: its training log exists, or the Snakemake that started the job was killed (see the log;
--rerun-incomplete redoes it); and "missing" if not (not run yet). A run whose run.json records
settings other than the config's (another config's run in the same folder, or one trained
before an edit) is "stale": the workflow will train it again, and its numbers are left out.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import textwrap
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from .analysis.stats import by_objective
from .analysis.tables import collapse_advice, collapse_counts, usage_fields
from .claims.report import claim_lines
from .claims.verdicts import VERDICTS
from .config import RunConfig
from .plan import Layout, Plan
from .slurm import cause, job_of_log, job_states
from .workdir import unfinished_outputs

STATUSES = ("ok", "diverged", "failed", "running", "missing", "stale")
# Shown only where some runs have them: a finished workflow's line reads as before.
RARE_STATUSES = ("running", "stale")
# What the workflow sets per job, not the config: never a reason to call a run stale.
JOB_SETTINGS = ("threads", "save_latent")


def run_statuses(study: str, plan: Plan,
                 unfinished: dict[str, bool] | None = None) -> pd.DataFrame:
    """One row per run of the study: its axis values, status and final validation loss.
    `unfinished`: workdir.unfinished_outputs of the working directory (none: no run is
    running)."""
    unfinished = unfinished or {}
    rows = []
    for path, settings in plan.runs[study].items():
        record_path = Path(plan.layout.run(study, path, "run.json"))
        row = {**settings["axes"], "status": "missing", "final_val_loss": np.nan, "run": path,
               "model": settings.get("model", RunConfig.model), "collapsed": None,
               "kl_pressure": np.nan}
        if record_path.is_file():
            record = json.loads(record_path.read_text())
            usage = usage_fields(record)
            row.update(status=record["status"], final_val_loss=record["final_val_loss"],
                       collapsed=usage["collapsed"], kl_pressure=usage["kl_pressure"])
            if stale(record, settings, plan.config["preprocess"][
                    plan.config["studies"][study]["preprocess"]]):
                row["status"] = "stale"
        elif os.path.abspath(record_path) in unfinished:
            row["status"] = "running" if unfinished[os.path.abspath(record_path)] else "failed"
        elif Path(plan.layout.log("train", f"{study}/{path}")).is_file():
            row["status"] = "failed"
        if row["status"] == "failed":  # ended without a record: Slurm may say why
            row["slurm_job"] = job_of_log(plan.layout.log("train", f"{study}/{path}"))
        rows.append(row)
    table = pd.DataFrame(rows)
    table["final_val_loss"] = pd.to_numeric(table["final_val_loss"], errors="coerce")
    return table


def stale(record: dict, settings: dict, preprocess: dict) -> list[str]:
    """The settings in which a run's record differs from what the config asks of it (the
    keys, sorted): a run trained for another config (say the demo's, in the folder the paper
    config now names) or before an edit, that the workflow will train again. Its numbers answer
    another question, so it counts as stale, not ok."""
    wanted = dataclasses.asdict(RunConfig.from_dict(settings))
    trained = record.get("config", {})
    differ = [key for key, value in wanted.items() if key not in JOB_SETTINGS
              and json.dumps(value, sort_keys=True) != json.dumps(trained.get(key),
                                                                   sort_keys=True)]
    data = record.get("data", {})
    differ += [f"preprocess.{key}" for key, value in preprocess.items()
               if key in data and data[key] != value]
    return sorted(differ)


def conditions(table: pd.DataFrame, axes: list[str]) -> pd.DataFrame:
    """Per condition (the axes but seed): mean final validation loss of its ok runs, and its
    runs by status; sorted best first."""
    by = [a for a in axes if a != "seed"]
    if not by:  # a study that varies only the seed has one condition
        table, by = table.assign(condition="all runs"), ["condition"]
    ok = table[table["status"] == "ok"]
    mean = ok.groupby(by, sort=False)["final_val_loss"].agg(["mean", "count"])
    counts = pd.crosstab([table[a] for a in by], table["status"])
    out = mean.join(counts, how="outer").fillna({"count": 0})
    for status in STATUSES:
        out[status] = out[status].fillna(0).astype(int) if status in out else 0
    return out.sort_values("mean", na_position="last")


def _name(key, by: list[str]) -> str:
    values = key if isinstance(key, tuple) else (key,)
    return " ".join(f"{a}={v}" for a, v in zip(by, values))


def study_summary(study: str, plan: Plan, top: int,
                  unfinished: dict[str, bool] | None = None) -> list[str]:
    spec = plan.config["studies"][study]
    table = run_statuses(study, plan, unfinished)
    counts = table["status"].value_counts()
    lines = [f"{study}: {len(table)} runs ({' x '.join(spec['grid'])}): "
             + ", ".join(f"{int(counts.get(s, 0))} {s}" for s in STATUSES
                         if s not in RARE_STATUSES or counts.get(s, 0))]
    lines += [f"  {line}" for line in slurm_failures({study: table})]
    # losses rank within one objective: a model, and a level of reconstruction or kld_weight
    table, axes = by_objective(table, list(spec["grid"]))
    ranked = conditions(table, axes)
    by = list(ranked.index.names)
    if ranked["mean"].isna().all():
        lines.append("  no condition has a finished run yet")
        return lines
    within = "model" in by and table["model"].nunique() > 1
    lines.append("  final validation loss, mean over seeds of the ok runs (lower is better)"
                 + (", within each model:" if within else ":"))
    models = ranked.index.get_level_values("model") if within else None
    groups = ([ranked[models == m] for m in dict.fromkeys(table["model"]) if (models == m).any()]
              if within else [ranked])
    for group in groups:
        lines += _best_and_worst(group.dropna(subset=["mean"]), by, top)
    unscored = ranked[ranked["mean"].isna()]
    if len(unscored):
        lines.append(f"  no finished run in {len(unscored)} condition(s), e.g. "
                     f"{_name(unscored.index[0], by)}")
    return lines + _collapse_lines(table)


def _collapse_lines(table: pd.DataFrame) -> list[str]:
    counts = collapse_counts(table)
    if not counts["n_judged"].sum():
        return []
    per_model = ", ".join(f"{row.model} {row.n_collapsed} of {row.n_judged}"
                          for row in counts.itertuples())
    return [*textwrap.wrap(f"collapsed runs: {per_model}", 98, initial_indent="  ",
                           subsequent_indent="    "),
            *textwrap.wrap(collapse_advice(counts), 98, initial_indent="  ",
                           subsequent_indent="  ")]


def _best_and_worst(scored: pd.DataFrame, by: list[str], top: int) -> list[str]:
    lines = []
    shown = list(scored.index[:top])
    worst = [k for k in scored.index[::-1][:top] if k not in shown][::-1]
    for label, keys in (("best ", shown), ("worst", worst)):
        for key in keys:
            row = scored.loc[key]
            others = ", ".join(f"{int(row[s])} {s}" for s in STATUSES[1:] if row[s])
            lines.append(f"  {label} {_name(key, by):<48} {row['mean']:>12.6g}  "
                         f"(n={int(row['count'])}{', ' + others if others else ''})")
            label = "     "
    return lines


def summary(config: dict, results=None, logs=None, top: int = 1, full: bool = False) -> str:
    """The text `vaebench summary` prints: one screen (a line per study, the claims counted
    with the decisive ones named, where to look), or with `full` every study's best and worst
    conditions and a line per claim. results: the results folder (default: the config's,
    Layout.of); logs: its logs (default: where the layout keeps them, relative to the results
    folder)."""
    layout = Layout.of(config)
    if results is not None:
        layout = layout.moved(str(results))
    if logs is not None:
        layout = dataclasses.replace(layout, logs=str(logs))
    # Snakemake's working directory: the folder that holds the default results/ or logs/
    unfinished = unfinished_outputs(Path(os.path.abspath(layout.logs)).parent)
    plan = Plan.of(config, claims=False, layout=layout)
    if not full:
        return "\n".join(brief(plan, unfinished)) + "\n"
    lines = []
    for study in config["studies"]:
        lines += study_summary(study, plan, top, unfinished) + [""]
    return "\n".join(lines + claim_summary(config, layout)).rstrip() + "\n"


# The one-screen summary: at most this many lines of at most WIDTH characters.
WIDTH, MOST_STUDIES, MOST_DECISIVE = 100, 12, 8
DECISIVE = ("holds", "contradicted", "negligible", "fragile")


def brief(plan: Plan, unfinished: dict[str, bool]) -> list[str]:
    """A line per study (its runs by status, and how many collapsed), then the claims: counted,
    the decisive ones named with their effect, the rest grouped by why, and where to look."""
    tables = {study: run_statuses(study, plan, unfinished) for study in plan.runs}
    shown = [s for s in STATUSES if s not in RARE_STATUSES
             or any((t["status"] == s).any() for t in tables.values())]
    lines = [f"{'study':<20}{'runs':>6}" + "".join(f"{s:>10}" for s in shown)
             + f"{'collapsed':>11}"]
    for study, table in list(tables.items())[:MOST_STUDIES]:
        counts = table["status"].value_counts()
        judged = table["collapsed"].notna()
        collapsed = (f"{int(table.loc[judged, 'collapsed'].astype(bool).sum())}/"
                     f"{int(judged.sum())}" if judged.any() else "-")
        lines.append(f"{study[:19]:<20}{len(table):>6}"
                     + "".join(f"{int(counts.get(s, 0)):>10}" for s in shown)
                     + f"{collapsed:>11}")
    if len(tables) > MOST_STUDIES:
        lines.append(f"... and {len(tables) - MOST_STUDIES} more studies (--full)")
    failures = slurm_failures(tables)
    lines += [*([""] + failures if failures else []), "", *_brief_claims(plan), "",
              *textwrap.wrap(f"More: {plan.layout.claims('claims.html')} (each verdict, its "
                             "reason and figure); the figures under "
                             f"{plan.layout.figure('<study>', '')}; `vaebench summary --full` "
                             "(best and worst conditions, every claim); `vaebench claims` (the "
                             "seeds each claim needs); collapsed: no active latent unit, or "
                             "too small a KL (docs/analysis.md).", WIDTH)]
    return lines


def slurm_failures(tables: dict[str, pd.DataFrame]) -> list[str]:
    """A line per study and cause for the failed runs whose Slurm job Slurm ended (out of
    time or memory, node lost, preempted, cancelled: sacct), with the fix; none elsewhere."""
    failed = {study: t[t["status"] == "failed"] for study, t in tables.items()
              if "slurm_job" in t and (t["status"] == "failed").any()}
    states = job_states(j for t in failed.values() for j in t["slurm_job"].dropna())
    lines = []
    for study, table in failed.items():
        why = table["slurm_job"].map(lambda job: cause(states.get(job)))
        for text in dict.fromkeys(why.dropna()):
            jobs = sorted(set(table.loc[why == text, "slurm_job"]))
            lines += textwrap.wrap(f"{study}: {int((why == text).sum())} failed runs, "
                                   f"{text} (Slurm job {', '.join(jobs[:4])}"
                                   f"{' ...' if len(jobs) > 4 else ''})", WIDTH,
                                   subsequent_indent="  ")
    return lines


def _brief_claims(plan: Plan) -> list[str]:
    verdicts = Path(plan.layout.claims("claims.csv"))
    if not verdicts.is_file():
        plan = Plan.of(plan.config, layout=plan.layout)  # reads the claim files
        if not plan.matches:
            return []
        tested = Counter(m["study"] for m in plan.matches if m["study"])
        untested = sum(1 for m in plan.matches if not m["study"])
        return textwrap.wrap(
            f"Claims: not tested yet ({verdicts} is written at the end); "
            + ", ".join(f"{n} on {study}" for study, n in tested.items())
            + (f"; {untested} fit no study of this config" if untested else ""), WIDTH)
    claims = pd.read_csv(verdicts, keep_default_na=False)
    counts = claims["verdict"].value_counts()
    lines = [f"Claims ({len(claims)}, {claims['paper'].nunique()} papers): "
             + ", ".join(f"{int(counts[v])} {v}" for v in VERDICTS if counts.get(v, 0))]
    decisive = claims[claims["verdict"].isin(DECISIVE)]
    for row in decisive.head(MOST_DECISIVE).itertuples():
        lines += decisive_line(row)
    if len(decisive) > MOST_DECISIVE:
        lines += _wrap(f"  ... {len(decisive) - MOST_DECISIVE} more: "
                       + " ".join(decisive["claim_id"].iloc[MOST_DECISIVE:]))
    if len(decisive):
        lines.append("  (effect: the claim's own measure, > 0 in the paper's direction, with its "
                     "95% interval)")
    for verdict in ("inconclusive", "not run"):
        rows = claims[claims["verdict"] == verdict]
        if not len(rows):
            continue
        if verdict == "not run":  # each for a reason of its own: claims.html says which
            text = (f"{' '.join(rows['claim_id'])}: the config has no study with what they "
                    "need")
        else:
            why = rows["reason"].map(gist)
            text = "; ".join(f"{reason}: {' '.join(rows.loc[why == reason, 'claim_id'])}"
                             for reason in dict.fromkeys(why))
        lines += textwrap.wrap(f"{verdict} ({len(rows)}): {text}", WIDTH,
                               initial_indent="  ", subsequent_indent="    ")
    return lines


def gist(reason) -> str:
    """A verdict's reason up to its first colon, semicolon or parenthesis: "too few seeds or
    runs", "a tie", "not significant after Holm"."""
    return re.split(r"[:;(]", str(reason))[0].strip()


def effect_text(row, digits: int = 2) -> str:
    """"<measure> +0.31 [0.10, 0.52], p_holm 0.001": the effect named by its measure, to
    `digits` decimals (the p value to as many significant ones)."""
    effect, low, high, p_holm = (pd.to_numeric(v, errors="coerce") for v in
                                 (row.effect, row.ci_low, row.ci_high, row.p_holm))
    if np.isnan(effect):
        return str(row.reason)
    measure = re.split(r" of | \(", str(row.effect_measure))[0]
    interval = "" if np.isnan(low) else f" [{low:.{digits}f}, {high:.{digits}f}]"
    p = "" if np.isnan(p_holm) else f", p_holm {p_holm:.{digits}g}"
    return f"{measure} {effect:+.{digits}f}{interval}{p}"


def decisive_line(row) -> list[str]:
    """A decisive claim on one line of at most WIDTH: its effect rounded to one decimal where two
    do not fit, and wrapped at a space where neither does; a number is never cut."""
    head = f"  {row.claim_id:<4} {row.verdict:<12} {row.study:<14} "
    for digits in (2, 1):
        line = head + effect_text(row, digits)
        if len(line) <= WIDTH:
            return [line]
    return _wrap(line)


def _wrap(line: str) -> list[str]:
    # no-break spaces keep an interval whole and a p value with its name (textwrap breaks at
    # ASCII spaces only)
    glued = re.sub(r"(\[[^\]]*?,|p_holm) ", "\\1\N{NO-BREAK SPACE}", line)
    return [part.replace("\N{NO-BREAK SPACE}", " ") for part in textwrap.wrap(
        glued, WIDTH, subsequent_indent=" " * 8, break_long_words=False, break_on_hyphens=False)]


def claim_summary(config: dict, layout: Layout) -> list[str]:
    """One line per claim: its verdict where the claims job has run, else its study."""
    verdicts = Path(layout.claims("claims.csv"))
    if verdicts.is_file():
        claims = pd.read_csv(verdicts, keep_default_na=False)
        counts = claims["verdict"].value_counts()
        head = (f"the papers' claims ({verdicts}): "
                + ", ".join(f"{int(counts.get(v, 0))} {v}" for v in VERDICTS))
        return [head, *claim_lines(claims)]
    # the claim files are read only where no verdicts are there yet
    plan = Plan.of(config, layout=layout)
    if not plan.papers:
        return []
    return ["the papers' claims: not tested yet (the claims job writes "
            f"{verdicts}); each will be tested on:",
            *(f"  {m['claim']:<4} {m['study'] or 'not run (' + m['reason'] + ')'}"
              for m in plan.matches)]
