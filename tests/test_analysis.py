"""Convergence measures, statistics between conditions and latent scores, on constructed data
where the answer is known."""


import json

import numpy as np
import pandas as pd
import pytest

from vaebench.analysis import (
    ALPHA,
    active_units,
    baseline_scores,
    by_objective,
    clinical_associations,
    clinical_scores,
    compare,
    convergence,
    divergence,
    holm,
    leiden_clusters,
    linear_cka,
    matched_rank_biserial,
    neighbour_overlap,
    neighbour_sets,
    pairwise,
    run_scores,
    run_table,
    score_latents,
    sensitivity,
    silhouette,
    stability,
    studied_axes,
    survival_concordance,
    versus_baselines,
)
from vaebench.data import DataError, make_synthetic, preprocess, sha256_bytes

AXES = ["model", "init", "seed"]


def init_study(rng, shift=0.0, shifted="xavier", seeds=10, paired_noise=0.0):
    """Two models x four inits x seeds of a made-up outcome; `shifted` init is `shift` higher.
    paired_noise: a per-seed offset shared by every init (what a shared split does)."""
    rows = []
    for model in ("vanilla", "iwae"):
        seed_effect = rng.normal(0, paired_noise, seeds)
        for init in ("default", "normal", "uniform", "xavier"):
            for seed in range(seeds):
                value = 1.0 + seed_effect[seed] + rng.normal() + (shift if init == shifted else 0)
                rows.append({"model": model, "init": init, "seed": seed + 1, "status": "ok",
                             "final_val_loss": value, "plateau_epoch": rng.integers(3, 9),
                             "final_val_recon": np.exp(value)})
    return pd.DataFrame(rows)


# ----- convergence -----


def test_plateau_epoch_of_a_hand_made_curve_is_exact():
    # Falls to 1.0 and stays: the plateau is the mean of the last 5 epochs (1.0, 1.005, 1.0,
    # 0.995, 1.0) = 1.0; epoch 5 (1.02) is 2% above it, epoch 6 (1.009) the first within 1%.
    curve = [10.0, 5.0, 2.0, 1.5, 1.02, 1.009, 1.0, 1.005, 1.0, 0.995, 1.0]
    measures = convergence(curve)
    assert measures["plateau_val_loss"] == pytest.approx(1.0)
    assert measures["plateau_epoch"] == 6
    # Trapezoid over epochs 1..11: sum minus half the end points.
    assert measures["auc_val_loss"] == pytest.approx(sum(curve) - (curve[0] + curve[-1]) / 2)
    assert measures["mean_val_loss"] == pytest.approx(measures["auc_val_loss"] / 10)


def test_plateau_of_a_short_run_is_its_second_half_and_a_dip_counts():
    # 4 epochs: plateau = mean of the last 2 = 2.0; epoch 3 (2.1) is 5% above, epoch 4 below it.
    assert convergence([8.0, 4.0, 2.1, 1.9])["plateau_epoch"] == 4
    # A dip below the final level (then a rise, overfitting) reaches the plateau at the dip.
    assert convergence([5.0, 1.0, 1.2, 1.3, 1.3, 1.3, 1.3, 1.3])["plateau_epoch"] == 2
    assert convergence([3.0])["plateau_epoch"] == 1


def test_a_diverged_curve_has_no_convergence_measures():
    assert all(np.isnan(v) for v in convergence([3.0, 2.0, np.nan]).values())
    assert all(np.isnan(v) for v in convergence([3.0, np.inf]).values())


def test_run_table_adds_convergence_only_to_finished_runs(tmp_path):
    epochs, records = [], {}
    for seed, status, curve in ((1, "ok", [4.0, 2.0, 1.0, 1.0]),
                                (2, "diverged", [4.0, 2.0, np.nan])):
        for epoch, value in enumerate(curve, start=1):
            epochs.append({"seed": seed, "epoch": epoch, "val_loss": value, "val_recon": value})
        record = {"config": {"axes": {"seed": str(seed)}}, "status": status,
                  "stop_reason": "", "epochs_run": len(curve), "best_epoch": 3,
                  "best_val_loss": 1.0, "final_val_loss": curve[-1], "convergence_epoch": None,
                  "divergence_epoch": 3 if status == "diverged" else None,
                  "wall_seconds": 1.0, "device": {"type": "cpu"}}
        records[tmp_path / f"seed={seed}" / "run.json"] = record
    runs = run_table(records, pd.DataFrame(epochs), ["seed"]).set_index("seed")
    assert runs.loc[1, "plateau_epoch"] == 3 and runs.loc[1, "plateau_val_loss"] == 1.0
    assert np.isnan(runs.loc[2, "plateau_epoch"]) and np.isnan(runs.loc[2, "auc_val_loss"])


# ----- statistics -----


def test_holm_matches_the_textbook_example():
    # p sorted 0.01, 0.02, 0.03, 0.04 with m = 4: 0.04, 0.06, 0.06, 0.06 (monotone), NaN kept.
    adjusted = holm([0.03, 0.01, np.nan, 0.04, 0.02])
    np.testing.assert_allclose(adjusted, [0.06, 0.04, np.nan, 0.06, 0.06])


@pytest.mark.parametrize("paired", [True, False])
def test_same_distribution_gives_no_significant_difference_in_most_seeds(paired):
    # Four inits drawn from one distribution; paired: with a shared per-seed offset, as a shared
    # split gives (Wilcoxon); unpaired: each init with seeds of its own (Mann-Whitney). After
    # Holm, a model's family should show any difference in <= 5% of repeats.
    families, false = 0, 0
    for repeat in range(50):
        runs = init_study(np.random.default_rng(repeat), paired_noise=1.0)
        if not paired:
            runs["seed"] += 100 * runs["init"].map({"default": 0, "normal": 1, "uniform": 2,
                                                    "xavier": 3})
        pairs = pairwise(runs, AXES, ["init"], ["final_val_loss"])
        expected = "Wilcoxon signed-rank" if paired else "Mann-Whitney U"
        assert (pairs["paired"] == paired).all() and (pairs["test"] == expected).all()
        per_family = pairs.groupby("model")["significant"].any()
        families += len(per_family)
        false += int(per_family.sum())
    assert families == 100
    assert false <= 12  # expected <= 5 at FWER 0.05; 12 leaves room for chance


def test_a_planted_shift_is_found_and_only_there():
    found = 0
    for repeat in range(10):
        pairs = pairwise(init_study(np.random.default_rng(repeat), shift=3.0, paired_noise=1.0),
                         AXES, ["init"], ["final_val_loss"])
        with_shift = pairs["level_b"] == "xavier"
        found += int(pairs.loc[with_shift, "significant"].all())
        assert (pairs.loc[with_shift, "effect"] > 0.8).all()
        assert (pairs.loc[with_shift, "effect_ci_low"] > 0).all()
        assert (pairs["effect_measure"] == "matched rank-biserial").all()
        assert pairs.loc[with_shift, "shift"].between(1.5, 4.5).all()  # true shift 3
        assert (pairs["p_holm"] >= pairs["p"]).all()
    assert found >= 9  # each of 10 repeats: all six shifted pairs (3 per model) significant


def test_matched_rank_biserial_is_the_signed_rank_sum_share():
    a = np.zeros(6)
    # differences 1, -2, 3, 4, 0 (dropped), 5: ranks 1..5, W+ = 1+3+4+5 = 13, W- = 2
    b = np.array([1.0, -2.0, 3.0, 4.0, 0.0, 5.0])
    assert matched_rank_biserial(a, b) == pytest.approx((13 - 2) / 15)
    assert matched_rank_biserial(a, np.abs(b) + 1) == 1.0  # every pair larger
    # vectorised along an axis as scipy's bootstrap calls it
    np.testing.assert_allclose(matched_rank_biserial(np.zeros((2, 6)), np.stack([b, -b])),
                               [11 / 15, -11 / 15])


def test_unmatched_runs_are_compared_unpaired():
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, 12), rng.normal(2.5, 1, 15)
    result = compare(a, b, paired=False)
    assert result["test"] == "Mann-Whitney U" and result["p"] < ALPHA
    assert result["effect_measure"] == "Cliff's delta"
    assert result["effect_ci_low"] <= result["effect"] <= result["effect_ci_high"]
    # Different seeds on the two sides: no one-to-one match, so Mann-Whitney.
    runs = init_study(rng, seeds=6)
    runs.loc[runs["init"] == "xavier", "seed"] += 100
    pairs = pairwise(runs, AXES, ["init"], ["final_val_loss"])
    assert set(pairs.loc[pairs["level_b"] == "xavier", "test"]) == {"Mann-Whitney U"}
    assert set(pairs.loc[pairs["level_b"] != "xavier", "test"]) == {"Wilcoxon signed-rank"}


def test_too_few_runs_for_a_bootstrap_interval_get_none():
    result = compare([1.0, 2.0, 3.0], [4.0, 5.0, 6.0], paired=True)
    assert result["effect"] == 1.0 and result["p"] == pytest.approx(0.25)
    assert np.isnan(result["effect_ci_low"]) and np.isnan(result["effect_ci_high"])


def test_diverged_runs_are_left_out_and_too_few_runs_are_not_tested():
    runs = init_study(np.random.default_rng(0), seeds=3)
    runs.loc[(runs["init"] == "normal") & (runs["seed"] > 1), "status"] = "diverged"
    pairs = pairwise(runs, AXES, ["init"], ["final_val_loss"]).set_index(["model", "level_a",
                                                                           "level_b"])
    row = pairs.loc[("vanilla", "default", "normal")]
    assert row["n_a"] == row["n_b"] == 1 and row["test"] == "none (n < 2)"
    assert np.isnan(row["p"]) and not row["significant"]


def test_sensitivity_finds_the_axis_that_matters():
    rng = np.random.default_rng(0)
    rows = []
    for lr in (1e-4, 1e-3, 1e-2):
        for latent in (10, 50):
            for optimizer in ("adam", "sgd"):
                recon = 10 ** (np.log10(lr) + rng.normal(0, 0.05))  # lr decides, little noise
                rows.append({"model": "vanilla", "lr": lr, "latent": latent,
                             "optimizer": optimizer, "status": "ok", "final_val_recon": recon,
                             "plateau_epoch": 5})
    runs = pd.DataFrame(rows)
    axes = ["model", "lr", "latent", "optimizer"]
    assert studied_axes(runs, axes) == ["lr", "latent", "optimizer"]
    table = sensitivity(runs, axes).set_index(["outcome", "axis"])["eta_squared"]
    recon = table.loc["log10_final_val_recon"]
    assert recon["lr"] > 0.95 and recon["latent"] < 0.05 and recon["optimizer"] < 0.05
    assert recon["all main effects"] + recon["interactions + noise"] == pytest.approx(1.0)
    # a complete grid: the one-way shares add up to the additive model's R^2
    assert recon[["lr", "latent", "optimizer"]].sum() == pytest.approx(recon["all main effects"])
    assert table.loc["plateau_epoch"].isna().all()  # no variance: nothing to share out


def test_divergence_fraction_per_optimizer():
    runs = pd.DataFrame({"model": "vanilla", "optimizer": ["adam", "adam", "sgd", "sgd"],
                         "lr": [1e-3, 1.0, 1e-3, 1.0],
                         "status": ["ok", "diverged", "ok", "ok"]})
    table = divergence(runs, ["model", "lr", "optimizer"]).set_index(["axis", "level"])
    assert table.loc[("optimizer", "adam"), "fraction_diverged"] == 0.5
    assert table.loc[("optimizer", "sgd"), "fraction_diverged"] == 0.0
    assert table.loc[("(all)", "(all)"), "n_diverged"] == 1


# ----- latent space -----


@pytest.fixture(scope="module")
def clusters():
    """The synthetic generator's samples (its top genes, min-max scaled) and cancer types."""
    expr, phenotype = make_synthetic(600, 400, seed=2)
    prep = preprocess(expr, top_k=200)
    labels = phenotype.set_index("sample").loc[prep.samples, "cancer type abbreviation"].to_numpy()
    return prep.x, labels


def test_knn_accuracy_is_high_on_the_generators_clusters(clusters):
    x, labels = clusters
    scores = score_latents(x, labels)
    assert scores["knn_accuracy"] > 0.9 and scores["knn_balanced_accuracy"] > 0.8
    assert scores["silhouette"] > 0.1
    assert scores["n_types"] >= 20  # types with < 5 samples are left out


def test_knn_accuracy_is_near_chance_on_shuffled_labels(clusters):
    x, labels = clusters
    rng = np.random.default_rng(0)
    for _ in range(3):
        scores = score_latents(x, rng.permutation(labels))
        # kNN on shuffled labels hits about sum(p_type^2) ~ 0.06, below always-the-commonest
        assert scores["knn_accuracy"] <= scores["majority_baseline"]
        assert scores["knn_balanced_accuracy"] < 1.0 / scores["n_types"] + 0.04
        assert scores["silhouette"] < 0.02


def test_a_diverged_latent_space_scores_nan(clusters):
    x, labels = clusters
    x = x.copy()
    x[0, 0] = np.nan
    scores = score_latents(x, labels)
    assert np.isnan(scores["knn_accuracy"]) and np.isnan(scores["ari"]) and scores["n_samples"] > 0


def planted(types=5, per_type=80, width=10, seed=0):
    """Well-separated Gaussian blobs in `width` dimensions and their type labels."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=10.0, size=(types, width))
    labels = np.repeat([f"T{t}" for t in range(types)], per_type)
    x = centres[np.repeat(np.arange(types), per_type)] + rng.normal(size=(types * per_type, width))
    return x, labels


def test_leiden_finds_planted_clusters_and_not_shuffled_labels():
    x, labels = planted()
    scores = score_latents(x, labels)
    assert scores["ari"] > 0.95 and scores["nmi"] > 0.95 and scores["n_clusters"] == 5
    rng = np.random.default_rng(1)
    for _ in range(3):
        shuffled = score_latents(x, rng.permutation(labels))
        assert abs(shuffled["ari"]) < 0.05 and shuffled["nmi"] < 0.1
    # the same clusters with the same seed, every time
    assert (leiden_clusters(x) == leiden_clusters(x)).all()


def test_unlabelled_samples_are_clustered_but_not_scored():
    x, labels = planted()
    labels = labels.astype(object)
    labels[::7] = ""
    scores = score_latents(x, labels)
    assert scores["ari"] > 0.95 and scores["n_samples"] == (labels != "").sum()


def test_a_collapsed_latent_space_has_no_active_units():
    x, labels = planted(width=6)
    collapsed = x.copy()
    collapsed[:, 2:] = 0.003 * np.random.default_rng(0).normal(size=(len(x), 4))  # Var ~1e-5
    assert active_units(x) == 6 and active_units(collapsed) == 2
    assert active_units(np.zeros_like(x)) == 0
    assert score_latents(collapsed, labels)["active_units"] == 2


def test_a_categorical_unit_is_active_when_its_class_probabilities_vary_together():
    rng = np.random.default_rng(0)
    # two variables of 4 classes: the first one-hot on a random class, the second ~uniform
    first = np.eye(4)[rng.integers(0, 4, 300)]
    second = np.full((300, 4), 0.25) + 0.01 * rng.normal(size=(300, 4))
    probabilities = np.hstack([first, second])
    assert active_units(probabilities, unit_width=4) == 1
    # column by column, each class of the first counts as a unit of its own
    assert active_units(probabilities) == 4


def test_losses_compare_within_one_objective():
    runs = pd.DataFrame([{"model": "vanilla", "reconstruction": rec, "init": init, "seed": seed,
                          "status": "ok", "plateau_epoch": 3,
                          "final_val_loss": (1 if rec == "mean" else 1000) * (seed + init_shift)}
                         for rec in ("mean", "sum") for init, init_shift in (("a", 0), ("b", 1))
                         for seed in range(6)])
    axes = ["model", "reconstruction", "init", "seed"]
    within, within_axes = by_objective(runs, axes)
    assert within_axes == ["model", "init", "seed"]
    assert set(within["model"]) == {"vanilla reconstruction=mean", "vanilla reconstruction=sum"}
    pairs = pairwise(within, within_axes, studied_axes(within, within_axes), ["final_val_loss"])
    # init compared within each objective, never across: reconstruction is not an axis here
    assert list(pairs["axis"]) == ["init", "init"]
    assert list(pairs["shift"]) == [1.0, 1000.0]
    assert by_objective(runs, ["model", "init", "seed"])[1] == ["model", "init", "seed"]


def test_baselines_score_pca_at_every_width_and_the_genes():
    x, labels = planted(width=30)
    table = baseline_scores(x, labels, dims=[8, 4, 8, 50])
    assert list(zip(table["baseline"], table["dims"])) == [("genes", 30), ("pca", 4), ("pca", 8),
                                                           ("pca", 50)]
    assert (table["ari"] > 0.95).all() and (table["knn_accuracy"] > 0.95).all()
    # no more components than the matrix has: 50 asked, 30 there
    assert table.set_index("dims").at[50, "active_units"] <= 30


def test_cka_is_one_for_a_run_with_itself_and_a_rotation_and_low_for_an_unrelated_one():
    x, _ = planted(width=8)
    rotation, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(8, 8)))
    assert linear_cka(x, x) == pytest.approx(1.0)
    assert linear_cka(x, 2.5 * x @ rotation) == pytest.approx(1.0)
    unrelated = np.random.default_rng(4).normal(size=x.shape)
    assert linear_cka(x, unrelated) < 0.1
    assert np.isnan(linear_cka(x, np.zeros_like(x)))


def test_neighbour_overlap_is_one_for_the_same_space_and_low_for_an_unrelated_one():
    x, _ = planted(width=8)
    rotated = x @ np.linalg.qr(np.random.default_rng(3).normal(size=(8, 8)))[0]
    same = neighbour_sets(x)
    assert same.shape == (len(x), 15) and not (same == np.arange(len(x))[:, None]).any()
    assert neighbour_overlap(same, neighbour_sets(rotated)) == pytest.approx(1.0)
    unrelated = neighbour_sets(np.random.default_rng(4).normal(size=x.shape))
    assert neighbour_overlap(same, unrelated) < 0.1


def test_silhouette_agrees_with_sklearn():
    from sklearn.metrics import silhouette_score

    x, labels = planted(types=4, per_type=30, width=6)
    labels = labels.astype(object)
    labels[:40] = "T9"  # unequal sizes
    labels[-1] = "alone"  # a class of one scores 0
    for points in (x, np.random.default_rng(2).normal(size=x.shape)):
        assert silhouette(points, labels, block=7) == pytest.approx(
            silhouette_score(points, labels.astype(str)), abs=1e-5)


def saved_run(folder, mu, untrained, labels):
    """A run folder as the trainer leaves it (the means, checksummed in run.json) and the
    study's samples.txt and phenotype table beside it."""
    folder.mkdir(parents=True)
    outputs = {}
    for name, array in (("latent.npy", mu), ("latent_untrained.npy", untrained)):
        np.save(folder / name, np.asarray(array, dtype=np.float32))
        outputs[name] = {"sha256": sha256_bytes((folder / name).read_bytes())}
    (folder / "run.json").write_text(json.dumps({"outputs": outputs}))
    samples = [f"s{i}" for i in range(len(mu))]
    (folder / "samples.txt").write_text("\n".join(samples) + "\n")
    pd.DataFrame({"sample": samples, "label": labels, "sample_type": "", "survival_time": "",
                  "survival_event": "", "age": np.arange(len(mu)) % 70 + 20}).to_csv(
        folder / "phenotype.tsv", sep="\t", index=False)
    return folder


def test_a_run_is_scored_in_a_job_of_its_own(tmp_path):
    x, labels = planted(width=6)
    untrained = np.random.default_rng(7).normal(size=x.shape)
    diverged = x.copy()
    diverged[3, 1] = np.inf
    for name, mu in (("ok", x), ("diverged", diverged)):
        run = saved_run(tmp_path / name, mu, untrained, labels)
        run_scores(run / "latent.npy", run / "samples.txt", run / "phenotype.tsv",
                   run / "scores.json", run / "neighbours.npy")
    scores = json.loads((tmp_path / "ok/scores.json").read_text())
    assert scores["latent"] == pytest.approx(score_latents(x, labels))
    assert scores["latent"]["ari"] > 0.95 and scores["untrained"]["ari"] < 0.1
    assert scores["dims"] == 6 and scores["n_unannotated"] == 0
    assert [row["variable"] for row in scores["clinical"]][-1] == "age"
    assert (np.load(tmp_path / "ok/neighbours.npy") == neighbour_sets(x)).all()
    # a diverged run: NaN scores, no neighbourhoods (-1), left out of stability
    scores = json.loads((tmp_path / "diverged/scores.json").read_text())
    assert np.isnan(scores["latent"]["ari"]) and scores["untrained"]["ari"] < 0.1
    assert (np.load(tmp_path / "diverged/neighbours.npy") == -1).all()
    # the means are checked against run.json before they are scored
    np.save(tmp_path / "ok/latent.npy", np.zeros_like(x, dtype=np.float32))
    with pytest.raises(DataError, match="is not what its run wrote"):
        run_scores(tmp_path / "ok/latent.npy", tmp_path / "ok/samples.txt",
                   tmp_path / "ok/phenotype.tsv", tmp_path / "ok/scores.json",
                   tmp_path / "ok/neighbours.npy")


def test_a_run_with_an_earlier_runs_encoder_copies_its_untrained_scores(tmp_path, capsys):
    """score_latent of a run whose encoder as initialised is an earlier run's (same
    encoder_key) copies that run's untrained scores, where the earlier run scored the same
    latent_untrained.npy (sha256); a different file means the key missed something: scored
    here, and said."""
    x, labels = planted(width=6)
    untrained = np.random.default_rng(7).normal(size=x.shape)
    first = saved_run(tmp_path / "first", x, untrained, labels)
    run_scores(first / "latent.npy", first / "samples.txt", first / "phenotype.tsv",
               first / "scores.json", first / "neighbours.npy")
    own = json.loads((first / "scores.json").read_text())["untrained"]
    # a planted value proves the copy: scoring would not give it
    planted_scores = json.loads((first / "scores.json").read_text())
    planted_scores["untrained"]["ari"] = 0.123
    (first / "scores.json").write_text(json.dumps(planted_scores))
    for name, encoder in (("same", untrained), ("other", untrained + 1.0)):
        run = saved_run(tmp_path / name, x + 0.01, encoder, labels)
        run_scores(run / "latent.npy", run / "samples.txt", run / "phenotype.tsv",
                   run / "scores.json", run / "neighbours.npy", shared=first / "scores.json")
    same = json.loads((tmp_path / "same/scores.json").read_text())["untrained"]
    assert same == {**own, "ari": 0.123}
    other = json.loads((tmp_path / "other/scores.json").read_text())["untrained"]
    assert other == pytest.approx(score_latents(untrained + 1.0, labels))
    err = capsys.readouterr()
    assert "copied from" in err.out and "first/scores.json" in err.out
    assert "other" not in err.out and "started from another encoder" in err.err


def test_stability_pairs_the_seeds_of_each_condition():
    x, _ = planted(width=8)
    rng = np.random.default_rng(5)
    latents = [({"model": "m", "init": "a", "seed": s}, x + 0.01 * rng.normal(size=x.shape))
               for s in (1, 2, 3)]
    latents += [({"model": "m", "init": "b", "seed": s}, rng.normal(size=x.shape)) for s in (1, 2)]
    latents += [({"model": "m", "init": "c", "seed": 1}, x)]  # one run: no pair
    diverged = x.copy()
    diverged[0, 0] = np.nan
    latents += [({"model": "m", "init": "b", "seed": 3}, diverged)]  # left out
    table = stability(latents, ["model", "init", "seed"],
                      lambda mu: (mu, neighbour_sets(np.nan_to_num(mu)))).set_index("init")
    assert list(table.index) == ["a", "b"]
    assert table.at["a", "n_pairs"] == 3 and table.at["b", "n_pairs"] == 1
    assert table.at["a", "cka_mean"] > 0.99 and table.at["a", "overlap_mean"] > 0.9
    assert table.at["b", "cka_mean"] < 0.1 and np.isnan(table.at["b", "cka_sd"])


# ----- survival and clinical variables -----


def phenotype_of(labels, time, event, **clinical):
    return pd.DataFrame({"sample": [f"s{i}" for i in range(len(labels))], "label": labels,
                         "sample_type": "", "survival_time": [f"{t:g}" for t in time],
                         "survival_event": [str(int(e)) for e in event],
                         **{k: [str(v) for v in vs] for k, vs in clinical.items()}})


def test_survival_concordance_finds_a_planted_hazard_and_not_noise():
    rng = np.random.default_rng(0)
    n = 600
    x = rng.normal(size=(n, 5))
    time = rng.exponential(scale=np.exp(-1.0 * x[:, 0]))  # hazard rises with dimension 0
    censor = rng.exponential(scale=2.0, size=n)
    event, time = time <= censor, np.minimum(time, censor)
    labels = rng.choice(["A", "B", "C"], size=n)
    table = pd.DataFrame(clinical_scores(x, phenotype_of(labels, time, event))).set_index(
        "measure")
    assert table.at["c_index", "value"] > 0.65
    assert table.at["c_index_within_type", "value"] > 0.65  # the signal is not type
    noise = pd.DataFrame(clinical_scores(rng.normal(size=(n, 5)),
                                         phenotype_of(labels, time, event))).set_index("measure")
    assert abs(noise.at["c_index", "value"] - 0.5) < 0.06


def test_type_alone_predicts_survival_pan_cancer_but_not_within_type():
    rng = np.random.default_rng(1)
    labels = np.repeat(["A", "B", "C"], 200)
    scale = {"A": 0.3, "B": 1.0, "C": 3.0}
    time = rng.exponential(scale=[scale[t] for t in labels])
    event = np.ones(len(labels), dtype=bool)
    one_hot = pd.get_dummies(labels).to_numpy(dtype=float)
    rows = survival_concordance(one_hot, phenotype_of(labels, time, event))
    by = {row["measure"]: row["value"] for row in rows}
    assert by["c_index"] > 0.65 and by["c_index_within_type"] == pytest.approx(0.5)


def test_the_tied_clinical_variable_is_found_and_the_untied_one_is_not():
    rng = np.random.default_rng(2)
    n = 400
    x = rng.normal(size=(n, 6))
    age = np.round(60 + 8 * x[:, 1] + rng.normal(scale=4, size=n))
    sex = rng.choice(["FEMALE", "MALE"], size=n)
    phenotype = phenotype_of(np.repeat(["A", "B"], n // 2), np.ones(n), np.zeros(n),
                             age=age, gender=sex)
    phenotype.loc[:9, "age"] = ""  # unknown ages are left out
    rows = {row["variable"]: row for row in clinical_associations(x, phenotype)}
    assert rows["age"]["measure"] == "spearman_rho" and rows["age"]["best_dim"] == 1
    assert rows["age"]["value"] > 0.7 and rows["age"]["n_significant"] >= 1
    assert rows["age"]["n_samples"] == n - 10
    assert rows["gender"]["measure"] == "auc" and rows["gender"]["n_significant"] == 0
    assert 0.5 <= rows["gender"]["value"] < 0.6


def test_a_clinical_variable_left_out_says_why():
    rng = np.random.default_rng(3)
    n = 60
    x = rng.normal(size=(n, 3))
    bmi = [f"{v:.1f}" for v in rng.normal(25, 3, size=n)]
    bmi[:4] = ["unknown"] * 4
    phenotype = phenotype_of(np.repeat(["A", "B"], n // 2), np.ones(n), np.zeros(n),
                             stage=rng.choice(["I", "II", "III", "IV"], size=n), bmi=bmi,
                             country=["NL"] * (n - 5) + [""] * 5, empty=[""] * n)
    rows = {row["variable"]: row for row in clinical_associations(x, phenotype)}
    assert all(row["measure"] == "not scored" for row in rows.values())
    assert rows["stage"]["note"].startswith("4 categories, e.g. 'I', 'II', 'III'")
    assert rows["bmi"]["note"].startswith("text in a numeric column: 4 of 60 values are not "
                                          "numbers, e.g. 'unknown'")
    assert rows["country"]["note"] == "one value, 'NL', in all 55 samples with one"
    assert rows["empty"]["note"] == "no value in any sample"


def test_runs_are_tested_against_their_own_baselines_run_by_run():
    rng = np.random.default_rng(6)
    n = 8
    table = pd.DataFrame({"model": "vanilla", "seed": range(n), "status": "ok",
                          "knn_accuracy": 0.6 + 0.01 * rng.random(n),
                          "knn_accuracy_pca": 0.9, "knn_accuracy_genes": 0.95,
                          "silhouette": 0.1, "silhouette_pca": 0.1, "silhouette_genes": 0.1,
                          "ari": 0.5 + 0.01 * rng.random(n), "ari_pca": 0.3,
                          "ari_genes": np.nan, "knn_accuracy_untrained": 0.2,
                          "silhouette_untrained": 0.0, "ari_untrained": 0.01})
    table.loc[0, "status"] = "diverged"
    rows = versus_baselines(table).set_index(["outcome", "level_a"])
    knn = rows.loc[("knn_accuracy", "PCA (same width)")]
    assert knn["n_a"] == n - 1 and knn["effect"] == -1.0 and knn["significant"]
    assert rows.loc[("ari", "PCA (same width)"), "effect"] == 1.0
    assert rows.loc[("silhouette", "genes"), "p"] == 1.0  # identical: no evidence
    assert rows.loc[("ari", "genes"), "test"] == "none (n < 2)"
    assert rows.loc[("ari", "untrained encoder"), "effect"] == 1.0
