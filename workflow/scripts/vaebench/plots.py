"""The studies' figures, drawn from the aggregated tables only (no torch).

- curves (init studies): a panel per model; validation loss per epoch, mean over seeds with a
  +-1 s.d. band, one line per value of the `hue` axis; epoch 1 is skipped (it dwarfs the rest),
  the upper y-limit per model comes from the config (the papers' limits), else it is 1.5 x the
  highest mean of the second half of training, so that a slow start does not flatten the
  curves where they converge.
- dots (hparam study): a panel per model and `col` value; x and y axes of the grid, colour the
  final validation reconstruction loss (one log scale per model), size the convergence epoch;
  diverged or failed runs are drawn as a black cross (the paper left them blank).
- embedding (studies that save latent means): a panel per model, the first run of that model
  in the save_latent selection (grid order) that finished; its encoder means of all samples
  projected on their first two principal components, one colour and marker per cancer type,
  each type's name written at its median point.
- quality (studies that save latent means; the published benchmark's Figures 2-4): per model,
  final validation loss against the ARI of the run's latent space (filled; Spearman's rho in
  the title) and of its encoder before training (hollow), the PCA baseline's ARI dashed and the
  genes' dotted; below, per studied axis, ARI per level as box plots with the same two lines,
  the runs that diverged or failed counted under each level (they have no ARI). Collapsed runs
  (analysis.collapse_counts) are crossed, counted per model in the panel title, and the figure
  says in one line why they collapsed and what to try.
Line styles and markers differ as well as colours, so the figures read in grayscale.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import MaxNLocator, NullFormatter  # noqa: E402

from .analysis import ordered  # noqa: E402
from .config import display_name  # noqa: E402
from .data import atomic_path  # noqa: E402

LINESTYLES = ["-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1))]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def curves(epochs: pd.DataFrame, hue: str, ylim: dict, title: str) -> plt.Figure:
    models = list(dict.fromkeys(epochs["model"])) if "model" in epochs else [None]
    fig, axes = plt.subplots(1, len(models), figsize=(max(4.2 * len(models), 7.0), 4.2),
                             squeeze=False, layout="constrained")
    # A diverged run's last epoch is non-finite: missing for the mean, as in summary.csv.
    shown = epochs[epochs["epoch"] > 1].replace([np.inf, -np.inf], np.nan)
    if hue not in shown:  # a study without that axis: one line per panel
        shown = shown.assign(**{hue: "all runs"})
    levels = ordered(shown[hue])
    palette = sns.color_palette("colorblind", len(levels))
    for ax, model in zip(axes[0], models):
        data = shown if model is None else shown[shown["model"] == model]
        for i, level in enumerate(levels):
            part = data[data[hue] == level]
            stats = part.groupby("epoch")["val_loss"].agg(["mean", "std"]).reset_index()
            style = {"color": palette[i], "linestyle": LINESTYLES[i % len(LINESTYLES)],
                     "marker": MARKERS[i % len(MARKERS)], "markersize": 4,
                     "markevery": max(1, len(stats) // 6)}
            ax.plot(stats["epoch"], stats["mean"], label=str(level), **style)
            ax.fill_between(stats["epoch"], stats["mean"] - stats["std"].fillna(0),
                            stats["mean"] + stats["std"].fillna(0), color=palette[i], alpha=0.15)
        means = data.groupby([hue, "epoch"])["val_loss"].mean()
        late = means[means.index.get_level_values("epoch") >= data["epoch"].max() / 2]
        top = (ylim or {}).get(model) or 1.5 * late.max()
        if np.isfinite(top) and np.isfinite(means.min()):
            ax.set_ylim(bottom=min(0.0, 1.1 * means.min()), top=top)
        ax.set_title(display_name(model) if model else title)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("validation loss (model objective, unitless)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, title=hue, fontsize=8, frameon=False, loc="outside lower center",
               ncol=len(labels))
    fig.suptitle(f"{title}\nvalidation loss, mean ± 1 s.d. over seeds (epoch 1 not shown)",
                 fontsize=10)
    return fig


def dots(runs: pd.DataFrame, x: str, y: str, col: str, title: str) -> plt.Figure:
    if "model" not in runs:  # the model is a base setting, not an axis: one row of panels
        runs = runs.assign(model="")
    models = list(dict.fromkeys(runs["model"]))
    cols = ordered(runs[col]) if col in runs else [None]
    fig, axes = plt.subplots(len(models), len(cols), figsize=(3.6 * len(cols) + 1.5,
                                                              3.0 * len(models) + 0.8),
                             squeeze=False, sharex=True, sharey=True, layout="constrained")
    ok = runs[(runs["status"] == "ok") & runs["final_val_recon"].notna()]
    x_levels = ordered(runs[x])
    x_pos = {v: i for i, v in enumerate(x_levels)}
    epochs = ok["convergence_epoch"].fillna(ok["epochs_run"])
    size_range = (epochs.min(), epochs.max()) if len(epochs) else (1, 1)

    def size(e):
        low, high = size_range
        return 30 + 170 * (np.asarray(e, float) - low) / max(high - low, 1)

    for r, model in enumerate(models):
        # One colour scale per model: their reconstruction losses differ in kind (MSE, log-cosh).
        recon = ok.loc[ok["model"] == model, "final_val_recon"]
        positive = recon[recon > 0]
        norm = LogNorm(positive.min(), positive.max()) if len(positive) else None
        scatter = None
        for c, level in enumerate(cols):
            ax = axes[r][c]
            sel = runs["model"] == model
            if level is not None:
                sel &= runs[col] == level
            part = runs[sel]
            good = part.index.intersection(ok.index)
            if len(good):
                scatter = ax.scatter(part.loc[good, x].map(x_pos), part.loc[good, y],
                                     c=part.loc[good, "final_val_recon"], norm=norm,
                                     cmap="viridis", s=size(epochs.loc[good]), edgecolors="k",
                                     linewidths=0.4)
            bad = part[~part.index.isin(ok.index)]
            ax.scatter(bad[x].map(x_pos), bad[y], marker="x", color="k", s=40, linewidths=1.5)
            name = display_name(model) if model else title
            ax.set_title(name + (f", {col}={level}" if level is not None else ""), fontsize=9)
            ax.set_yscale("log")
            ax.set_xticks(range(len(x_levels)), [str(v) for v in x_levels])
            ax.grid(alpha=0.3)
            if r == len(models) - 1:
                ax.set_xlabel(x)
            if c == 0:
                ax.set_ylabel(f"{y} (log scale)")
        if scatter is not None:
            fig.colorbar(scatter, ax=axes[r], shrink=0.9, pad=0.01,
                         label="final val. recon. (log)")
    handles = [Line2D([], [], marker="x", color="k", linestyle="", label="diverged / failed")]
    for e in sorted({int(size_range[0]), int(size_range[1])}):
        handles.append(Line2D([], [], marker="o", color="w", markeredgecolor="k",
                              markersize=np.sqrt(size(e)), label=f"converged at epoch {e}"))
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False)
    fig.suptitle(f"{title}\ngrid of {x} x {y}; colour = reconstruction loss, size = epochs",
                 fontsize=10)
    return fig


def embedding(latents: dict, labels, title: str, label: str = "cancer type") -> plt.Figure:
    """{panel title: mu [n x D]} -> PCA scatter per panel, coloured and labelled by `labels`
    (the values of the dataset's label column, named `label`)."""
    from sklearn.decomposition import PCA

    labels = np.asarray(labels, dtype=object)
    types = sorted({t for t in labels if t})
    palette = (sns.color_palette("tab20", 20) + sns.color_palette("tab20b", 20))[:len(types)] \
        if len(types) <= 40 else sns.color_palette("husl", len(types))
    ncols = len(latents) if len(latents) <= 3 else math.ceil(math.sqrt(len(latents)))
    nrows = math.ceil(len(latents) / ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 4.8 * nrows), squeeze=False)
    axes = grid.ravel()
    for ax in axes[len(latents):]:
        ax.set_visible(False)
    for ax, (name, mu) in zip(axes, latents.items()):
        finite = np.isfinite(mu).all(axis=1)
        if finite.sum() < 3:
            ax.text(0.5, 0.5, "no finite latent means", ha="center", transform=ax.transAxes)
            ax.set_title(name, fontsize=8)
            continue
        pca = PCA(n_components=2).fit(mu[finite])
        xy = np.full((len(mu), 2), np.nan)
        xy[finite] = pca.transform(mu[finite])
        for i, t in enumerate(types):
            pts = xy[labels == t]
            ax.scatter(pts[:, 0], pts[:, 1], s=6, color=palette[i], alpha=0.7, linewidths=0,
                       marker=MARKERS[i % len(MARKERS)], label=t)
        for t in types:  # the type's name at its median point: readable without colour
            cx, cy = np.nanmedian(xy[labels == t], axis=0)
            ax.annotate(t, (cx, cy), fontsize=6, ha="center", va="center",
                        path_effects=[patheffects.withStroke(linewidth=2, foreground="white")])
        ratio = pca.explained_variance_ratio_
        ax.set_xlabel(f"PC1 of the latent means ({ratio[0]:.0%} of variance)")
        ax.set_ylabel(f"PC2 ({ratio[1]:.0%} of variance)")
        ax.set_title(name, fontsize=8)
        ax.grid(alpha=0.3)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=min(len(names), 11), fontsize=6,
               markerscale=2, frameon=False)
    fig.suptitle(f"{title}: encoder means of all samples, first two principal components, "
                 f"by {label}")
    fig.tight_layout(rect=(0, (0.02 + 0.022 * math.ceil(len(types) / 11)) / nrows, 1, 1))
    return fig


def embedding_figure(runs_csv, latent_paths: list, samples_txt, phenotype_path, study: str,
                     out_paths: list, source=None, label: str = "cancer type") -> None:
    """One run per model (the first in `latent_paths`, grid order, that finished; else the first
    at all) drawn by `embedding`. `source`: where the annotations came from, for messages."""
    from .analysis import load_latent, sample_labels

    sns.set_theme(style="ticks", context="paper")
    runs = pd.read_csv(runs_csv).set_index("path")
    chosen: dict = {}
    for path in latent_paths:
        run = runs.loc[str(Path(path).parent)]
        model = run["model"] if "model" in run else study
        if model not in chosen or (chosen[model][1] != "ok" and run["status"] == "ok"):
            chosen[model] = (path, run["status"])
    latents = {}
    for model, (path, status) in chosen.items():
        run_name = Path(path).parent.as_posix().split("/runs/", 1)[-1]
        latents[f"{display_name(model)}\n{run_name}" + ("" if status == "ok" else f" ({status})")] \
            = load_latent(path)
    save(embedding(latents, sample_labels(samples_txt, phenotype_path, source), study, label),
         out_paths)


def quality(table: pd.DataFrame, axes: list[str], title: str,
            runs: pd.DataFrame | None = None, label: str = "cancer type") -> plt.Figure:
    """`table`: latent.csv with each run's final_val_loss; `runs`: runs.csv, whose collapsed
    runs are counted (default: the table's); `label`: what the ARI is against (the dataset's
    label column). See the module docstring."""
    from .analysis import by_objective, collapse_advice, collapse_counts, studied_axes

    if "model" not in table:
        table = table.assign(model="")
    compared = studied_axes(table, axes)
    # a scatter panel per objective: a model, and a level of reconstruction or kld_weight
    counts = collapse_counts(by_objective(table if runs is None else runs, axes)[0])
    table = table.assign(objective=by_objective(table, axes)[0]["model"])
    models = list(dict.fromkeys(table["objective"]))
    fig = plt.figure(figsize=(max(3.2 * len(models), 7), 2.9 * (1 + len(compared)) + 0.8),
                     layout="constrained")
    grid = fig.add_gridspec(1 + len(compared), len(models))
    scored = table[(table["status"] == "ok") & table["ari"].notna()]
    for c, model in enumerate(models):
        ax = fig.add_subplot(grid[0, c])
        part = scored[scored["objective"] == model]
        ax.scatter(part["final_val_loss"], part["ari"], s=22, color="0.25", edgecolors="k",
                   linewidths=0.4, marker=MARKERS[c % len(MARKERS)], label="trained")
        # each run's own encoder before training, at the run's final loss
        ax.scatter(part["final_val_loss"], part["ari_untrained"], s=22, facecolors="none",
                   edgecolors="0.45", linewidths=0.8, marker=MARKERS[c % len(MARKERS)],
                   label="untrained encoder")
        baselines(ax, table[table["objective"] == model])
        collapsed = part[part["collapsed"].astype(str) == "True"]
        if len(collapsed):
            ax.scatter(collapsed["final_val_loss"], collapsed["ari"], s=40, marker="x",
                       color="k", linewidths=0.9, label="collapsed")
        ax.legend(fontsize=7, frameon=False)
        rho = part["final_val_loss"].corr(part["ari"], method="spearman") if len(part) >= 3 \
            else np.nan
        rho_text = f"{rho:.2f}" if np.isfinite(rho) else "n/a"
        count = counts[counts["model"] == (model or "all")]
        name = " ".join([display_name(model.split()[0]), *model.split()[1:]]) if model else title
        ax.set_title(f"{name}\nSpearman rho {rho_text} (n = {len(part)})\n"
                     f"{int(count['n_collapsed'].sum())} of {int(count['n_judged'].sum())} runs "
                     "collapsed", fontsize=9)
        loss = part["final_val_loss"]
        if len(part) and (loss > 0).all() and loss.max() > 10 * loss.min():
            ax.set_xscale("log")  # over a decade or more; within one, log ticks crowd
            ax.xaxis.set_minor_formatter(NullFormatter())
        else:
            ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.set_xlabel("final validation loss")
        ax.set_ylabel(f"ARI vs {label}" if c == 0 else "")
        ax.grid(alpha=0.3)
    for r, axis in enumerate(compared, start=1):
        ax = fig.add_subplot(grid[r, :])
        levels = ordered(table[axis])
        named = scored.assign(model=scored["model"].map(display_name))
        several = named["model"].nunique() > 1
        sns.boxplot(data=named, x=axis, y="ari", hue="model" if several else None,
                    order=levels, ax=ax, color="0.8", palette="Greys" if several else
                    None, fliersize=2, linewidth=0.8)
        lost = table[table["status"] != "ok"].groupby(axis).size()
        ax.set_xticks(range(len(levels)), [f"{v}\n({lost.get(v, 0)} diverged/failed)"
                                           for v in levels], fontsize=8)
        baselines(ax, table)
        ax.set_ylabel("ARI")
        ax.grid(alpha=0.3, axis="y")
        if ax.get_legend() is not None:
            ax.legend(title="model", fontsize=7, title_fontsize=8, frameon=False,
                      loc="upper left", bbox_to_anchor=(1, 1))
    width = max(3.2 * len(models), 7)  # inches; ~13 characters an inch at this size
    advice = "\n".join(textwrap.wrap(collapse_advice(counts), int(13 * width)))
    fig.suptitle(f"{title}: does a lower loss mean a better latent space?\n{advice}",
                 fontsize=9)
    return fig


def baselines(ax, runs: pd.DataFrame) -> None:
    """The ARI of the runs' PCA (same width; the median where widths differ) and of the genes,
    as horizontal lines."""
    for column, style, name in (("ari_pca", "--", "PCA (same width)"), ("ari_genes", ":",
                                                                         "genes")):
        value = runs[column].median()
        if np.isfinite(value):
            ax.axhline(value, color="k", linestyle=style, linewidth=1, label=name)


def quality_figure(latent_csv, runs_csv, axes: list[str], study: str, out_paths: list,
                   label: str = "cancer type") -> None:
    sns.set_theme(style="ticks", context="paper")
    runs = pd.read_csv(runs_csv).set_index("path")
    table = pd.read_csv(latent_csv)
    table["final_val_loss"] = runs.loc[table["path"], "final_val_loss"].to_numpy()
    save(quality(table, axes, study, runs.reset_index(), label), out_paths)


def save(fig: plt.Figure, paths: list) -> None:
    """Write each format to a temporary name, then rename (never a half-written figure)."""
    for path in map(Path, paths):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=150, format=path.suffix.lstrip("."))
    plt.close(fig)


def study_figure(epochs_csv, runs_csv, figure: dict, study: str, out_paths: list) -> None:
    sns.set_theme(style="ticks", context="paper")
    if figure.get("kind", "curves") == "curves":
        fig = curves(pd.read_csv(epochs_csv), figure.get("hue", "init"), figure.get("ylim", {}),
                     study)
    else:
        fig = dots(pd.read_csv(runs_csv), figure.get("x", "latent"), figure.get("y", "lr"),
                   figure.get("col", "optimizer"), study)
    save(fig, out_paths)
