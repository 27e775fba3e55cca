"""The study figures from constructed tables: what the papers' figures promise."""

import numpy as np
import pandas as pd

from vaebench.plots import curves, dots, quality


def init_epochs(diverged_seed=None):
    """Two inits x 3 seeds x 6 epochs of a falling curve; one seed of `normal` may end at inf."""
    rows = []
    for init, level in (("default", 1.0), ("normal", 2.0)):
        for seed in (1, 2, 3):
            for epoch in range(1, 7):
                loss = level + 10.0 / epoch + 0.01 * seed
                if init == "normal" and seed == diverged_seed and epoch == 6:
                    loss = np.inf
                rows.append({"model": "vanilla", "init": init, "seed": seed, "epoch": epoch,
                             "val_loss": loss})
    return pd.DataFrame(rows)


def test_curves_skip_epoch_one_take_the_configured_ylim_and_ignore_a_diverged_epoch():
    fig = curves(init_epochs(diverged_seed=2), "init", {"vanilla": 7.5}, "init")
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"default", "normal"}
    assert list(lines["normal"].get_xdata()) == [2, 3, 4, 5, 6]  # epoch 1 not drawn
    # the diverged seed's inf is missing, not an infinite mean: the mean of the other two seeds
    assert lines["normal"].get_ydata()[-1] == np.mean([2.0 + 10 / 6 + 0.01, 2.0 + 10 / 6 + 0.03])
    assert ax.get_ylim()[1] == 7.5
    # without a configured limit: 1.5 x the highest mean of the second half of training
    auto = curves(init_epochs(), "init", {}, "init").axes[0]
    assert np.isclose(auto.get_ylim()[1], 1.5 * (2.0 + 10 / 3 + 0.02))


def test_dots_draw_diverged_runs_as_crosses_and_need_no_model_axis():
    runs = pd.DataFrame({"lr": [1e-3, 1e-3, 1.0, 1.0], "latent": [4, 8, 4, 8],
                         "status": ["ok", "ok", "ok", "diverged"],
                         "final_val_recon": [0.1, 0.05, 0.2, np.nan],
                         "convergence_epoch": [5, 7, 3, np.nan], "epochs_run": [5, 7, 3, 2]})
    fig = dots(runs, "latent", "lr", "optimizer", "batch")
    panel = fig.axes[0]
    ok, crosses = panel.collections[:2]
    assert len(ok.get_offsets()) == 3
    np.testing.assert_array_equal(crosses.get_offsets(), [[1, 1.0]])  # latent 8, lr 1.0
    assert panel.get_title() == "batch"


def test_quality_counts_diverged_and_collapsed_runs_and_gives_spearman_per_model():
    rows = []
    for model in ("vanilla", "iwae"):
        for lr in (1e-3, 1e-1):
            for seed in (1, 2, 3):
                diverged = model == "iwae" and lr == 1e-1 and seed < 3
                loss = np.nan if diverged else 0.1 * seed + lr
                collapsed = None if diverged else bool(model == "vanilla" and lr == 1e-1)
                rows.append({"model": model, "lr": lr, "seed": seed,
                             "status": "diverged" if diverged else "ok",
                             "final_val_loss": loss, "ari": np.nan if diverged else 0.9 - loss,
                             "ari_pca": 0.5, "ari_genes": 0.7, "ari_untrained": 0.2,
                             "collapsed": collapsed, "kl_pressure": 104.0})
    fig = quality(pd.DataFrame(rows), ["model", "lr", "seed"], "s")
    scatter_vanilla, scatter_iwae, boxes = fig.axes
    # ARI falls as the loss rises: rho -1 over the 6 finished vanilla runs
    assert scatter_vanilla.get_title() == ("VanillaVAE\nSpearman rho -1.00 (n = 6)\n"
                                           "3 of 6 runs collapsed")
    assert scatter_iwae.get_title().endswith("(n = 4)\n0 of 4 runs collapsed")
    assert "3 of 10 runs collapsed" in fig.get_suptitle()
    assert "KL pressure ~104" in fig.get_suptitle().replace("\n", " ")
    # beside the runs: their untrained encoders (hollow), the collapsed ones crossed, the PCA
    # and the genes (lines)
    trained, untrained, crossed = scatter_vanilla.collections
    assert len(trained.get_offsets()) == len(untrained.get_offsets()) == 6
    assert len(crossed.get_offsets()) == 3
    assert (untrained.get_offsets()[:, 1] == 0.2).all()
    for panel in (scatter_vanilla, boxes):
        assert [line.get_ydata()[0] for line in panel.get_lines()[-2:]] == [0.5, 0.7]
    labels = [tick.get_text() for tick in boxes.get_xticklabels()]
    assert labels == ["0.001\n(0 diverged/failed)", "0.1\n(2 diverged/failed)"]


def test_quality_draws_a_panel_per_objective_and_compares_the_objectives_on_ari():
    """Losses of different objectives (reconstruction mean or sum) are not comparable: each
    gets its own scatter panel (and Spearman rho); the box plots put both on the ARI axis."""
    rows = [{"model": "vanilla", "reconstruction": rec, "seed": seed, "status": "ok",
             "final_val_loss": (0.03 if rec == "mean" else 20.0) + seed,
             "ari": (0.05 if rec == "mean" else 0.9) + 0.01 * seed, "ari_pca": 0.9,
             "ari_genes": 0.95, "ari_untrained": 0.8, "collapsed": rec == "mean",
             "kl_pressure": 104.0 if rec == "mean" else 1.0}
            for rec in ("mean", "sum") for seed in (1, 2, 3)]
    fig = quality(pd.DataFrame(rows), ["model", "reconstruction", "seed"], "objective",
                  label="tissue")
    mean, summed, boxes = fig.axes
    assert mean.get_ylabel() == "ARI vs tissue"  # the dataset's label column, whatever it is
    assert mean.get_title() == ("VanillaVAE reconstruction=mean\nSpearman rho 1.00 (n = 3)\n"
                                "3 of 3 runs collapsed")
    assert summed.get_title().endswith("reconstruction=sum\nSpearman rho 1.00 (n = 3)\n"
                                       "0 of 3 runs collapsed")
    assert boxes.get_xlabel() == "reconstruction"
