"""Tests for vaebench.data: Xena I/O, preprocessing, splits and the synthetic generator.

Most preprocessing tests use a tiny hand-written Xena file whose variability ranking is known by
construction (the numbers are in the comments of XENA_TEXT).
"""

import gzip
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vaebench.data import (
    DataError,
    Preprocessed,
    apply_scaler,
    fit_scaler,
    load_preprocessed,
    make_synthetic,
    preprocess,
    read_phenotype,
    read_xena,
    save_preprocessed,
    split_indices,
    write_synthetic,
    write_xena,
)

# Six samples. Per gene: mean absolute deviation (mean_ad) and median absolute deviation
# (median_ad), worked out by hand.
#   SPIKE      one outlier           mean_ad 8.33   median_ad 0
#   HIGH       0/8 alternating       mean_ad 4      median_ad 4
#   100130426  0/4 (numeric id)      mean_ad 2      median_ad 2
#   MID        1/3                   mean_ad 1      median_ad 1
#   NEG        -1/1 (negatives)      mean_ad 1      median_ad 1   (ties MID; MID < NEG)
#   LOW        5 x5, 6               mean_ad 0.278  median_ad 0
#   DUP (1st)  constant 2            mean_ad 0
#   DUP (2nd)  4 x5, 10              mean_ad 1.67;  mean of the copies: 3 x5, 6 -> mean_ad 0.83
#   NAGENE     9 NA 0 9 0 9          has NA; with NA -> 0: mean_ad 4.5
SAMPLES = [f"TCGA-AA-000{i}-{'11' if i == 3 else '01'}" for i in range(1, 7)]
XENA_TEXT = "sample\t" + "\t".join(SAMPLES) + """
SPIKE\t0\t0\t0\t0\t0\t30
HIGH\t0\t8\t0\t8\t0\t8
100130426\t0\t4\t0\t4\t0\t4
MID\t1\t3\t1\t3\t1\t3
DUP\t2\t2\t2\t2\t2\t2
NAGENE\t9\tNA\t0\t9\t0\t9
LOW\t5\t5\t5\t5\t5\t6
DUP\t4\t4\t4\t4\t4\t10
NEG\t-1\t1\t-1\t1\t-1\t1
"""


def write_gz(path, text: str):
    with gzip.open(path, "wt") as f:
        f.write(text)
    return path


@pytest.fixture
def xena_file(tmp_path):
    return write_gz(tmp_path / "expr.tsv.gz", XENA_TEXT)


@pytest.fixture
def expr(xena_file):
    return read_xena(xena_file)


# ---------------------------------------------------------------------------------------------
# read_xena


def test_read_xena_keeps_ids_as_text_and_duplicates(expr):
    assert expr.shape == (9, 6)
    assert list(expr.columns) == SAMPLES
    assert list(expr.index) == ["SPIKE", "HIGH", "100130426", "MID", "DUP", "NAGENE", "LOW",
                                "DUP", "NEG"]
    assert isinstance(expr.index[2], str)
    assert (expr.dtypes == np.float32).all()
    assert np.isnan(expr.loc["NAGENE", SAMPLES[1]])
    assert expr.loc["NEG"].min() == -1


def test_read_xena_plain_text_file(tmp_path):
    path = tmp_path / "expr.tsv"
    path.write_text(XENA_TEXT)
    assert read_xena(path).shape == (9, 6)


def test_read_xena_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found.*nope.tsv.gz"):
        read_xena(tmp_path / "nope.tsv.gz")


def test_read_xena_non_numeric_cell_names_file_line_and_sample(tmp_path):
    path = write_gz(tmp_path / "bad.tsv.gz", XENA_TEXT.replace("MID\t1\t3\t1", "MID\t1\tabc\t1"))
    with pytest.raises(DataError) as info:
        read_xena(path)
    message = str(info.value)
    assert "bad.tsv.gz" in message and "line 5" in message
    assert SAMPLES[1] in message and "'abc'" in message


@pytest.mark.parametrize("text, pattern", [
    ("", "empty"),
    (XENA_TEXT.replace("sample\t", "gene\t", 1), "line 1.*'gene'.*expected 'sample'"),
    (XENA_TEXT.replace("\t5\t6\n", "\t6\n"), "line 8: 6 fields, expected 7"),
    (XENA_TEXT.replace("LOW\t5\t5", "LOW\t5\t\t5", 1), "line 8: 8 fields"),
    (XENA_TEXT.replace("HIGH\t0", "HIGH\tinf", 1), "line 3.*infinite"),
    (XENA_TEXT.replace("HIGH\t0", "HIGH\tnone", 1), "line 3.*'none' is not a number or missing"),
    (XENA_TEXT.replace("HIGH\t0", "HIGH\t1_0", 1), "line 3.*'1_0' is not a number or missing"),
    (XENA_TEXT.replace(SAMPLES[2], SAMPLES[0], 1),
     f"line 1: sample id '{SAMPLES[0]}' occurs 2 times \\(columns 2 and 4\\); each sample "
     "needs an id of its own"),
    (XENA_TEXT.splitlines()[0] + "\n", "no gene rows"),
])
def test_read_xena_bad_files(tmp_path, text, pattern):
    path = write_gz(tmp_path / "bad.tsv.gz", text)
    with pytest.raises(DataError, match=pattern):
        read_xena(path)


def test_read_xena_truncated_gzip(tmp_path, xena_file):
    data = xena_file.read_bytes()
    path = tmp_path / "truncated.tsv.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated.tsv.gz.*cannot decompress"):
        read_xena(path)


# ---------------------------------------------------------------------------------------------
# preprocess


def test_default_preprocess_top_genes_and_summary(expr):
    prep = preprocess(expr, top_k=3)
    assert prep.genes == ["SPIKE", "HIGH", "100130426"]
    assert prep.samples == SAMPLES
    assert prep.x.shape == (6, 3) and prep.x.dtype == np.float32 and prep.x.flags.c_contiguous
    s = prep.summary
    assert s["input_genes"] == 9 and s["input_samples"] == 6
    assert s["duplicated_ids"] == ["DUP"] and s["duplicate_rows_removed"] == 2
    assert s["genes_dropped_na"] == 1 and s["genes_dropped_na_ids"] == ["NAGENE"]
    assert s["genes_after_filtering"] == 6
    assert s["variability_cutoff"] == pytest.approx(2.0)
    assert s["scaling"] == "minmax" and s["scale_fit"] == "all" and s["scaled"]
    assert (s["value_min"], s["value_max"]) == (0.0, 1.0)
    assert re.fullmatch("[0-9a-f]{64}", s["genes_sha256"])


def test_ties_go_to_the_smaller_gene_id(expr):
    assert preprocess(expr, top_k=6).genes == ["SPIKE", "HIGH", "100130426", "MID", "NEG", "LOW"]


def test_median_ad_ranks_differently_from_mean_ad(expr):
    # SPIKE's single outlier dominates the mean deviation but not the median one.
    assert preprocess(expr, top_k=3, variability="median_ad").genes == [
        "HIGH", "100130426", "MID"]


def test_fill_zero_keeps_the_na_gene_and_changes_the_top_set(expr):
    prep = preprocess(expr, top_k=3, na_policy="fill_zero", scaling="none")
    assert prep.genes == ["SPIKE", "NAGENE", "HIGH"]
    assert prep.x[:, 1].tolist() == [9, 0, 0, 9, 0, 9]
    assert prep.summary["genes_dropped_na"] == 0 and prep.summary["na_cells"] == 1


def test_omit_then_zero_skips_na_when_ranking_and_scaling_then_sets_it_to_zero(expr):
    # The benchmark: pandas' MAD and scipy's zscore skip NA, then NaN -> 0. NAGENE's observed
    # 9 0 9 0 9 have mean 5.4 and mean_ad 4.32: above HIGH (4), below SPIKE.
    prep = preprocess(expr, top_k=3, na_policy="omit_then_zero", scaling="zscore")
    assert prep.genes == ["SPIKE", "NAGENE", "HIGH"]
    observed = np.array([9.0, 0, 9, 0, 9])
    z = (observed - observed.mean()) / observed.std()
    assert prep.x[:, 1] == pytest.approx([z[0], 0.0, *z[1:]], abs=1e-6)
    assert not np.isnan(prep.x).any()
    with pytest.raises(ValueError, match="omit_then_zero.*needs scale_fit 'all'"):
        preprocess(expr, top_k=3, na_policy="omit_then_zero", scale_fit="train")


def test_normals_can_be_dropped_by_their_barcode(expr):
    prep = preprocess(expr, top_k=3, normals="drop")
    assert prep.samples == [s for s in SAMPLES if not s.endswith("-11")] and len(SAMPLES) == 6
    assert prep.summary["normal_samples_dropped"] == 1 and prep.x.shape == (5, 3)
    assert preprocess(expr, top_k=3).x.shape == (6, 3)  # kept by default
    plain = expr.rename(columns=lambda s: s.replace("TCGA-", "S"))
    with pytest.raises(ValueError, match="normals 'drop' needs TCGA barcodes.*'SAA-0001-01'"):
        preprocess(plain, top_k=3, normals="drop")


@pytest.mark.parametrize("policy, dup_values, genes", [
    ("first", [2, 2, 2, 2, 2, 2], ["SPIKE", "HIGH", "100130426", "MID", "NEG", "LOW", "DUP"]),
    ("mean", [3, 3, 3, 3, 3, 6], ["SPIKE", "HIGH", "100130426", "MID", "NEG", "DUP", "LOW"]),
])
def test_duplicates_first_and_mean(expr, policy, dup_values, genes):
    prep = preprocess(expr, top_k=7, duplicates=policy, scaling="none")
    assert prep.genes == genes
    assert prep.x[:, prep.genes.index("DUP")].tolist() == dup_values
    assert prep.summary["duplicates"] == policy and prep.summary["duplicate_rows_removed"] == 1


def test_duplicates_drop_removes_every_copy(expr):
    with pytest.raises(DataError, match="tiny.tsv: top_k=7 but only 6 of 9 genes remain"):
        preprocess(expr, top_k=7, source="tiny.tsv")


def test_minmax_and_zscore_per_gene(expr):
    x = preprocess(expr, top_k=6, scaling="minmax").x
    np.testing.assert_array_equal(x.min(axis=0), 0)
    np.testing.assert_array_equal(x.max(axis=0), 1)
    x = preprocess(expr, top_k=6, scaling="zscore").x
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(x.std(axis=0), 1, atol=1e-6)


def test_scale_fit_train_leaves_x_unscaled(expr):
    prep = preprocess(expr, top_k=3, scaling="zscore", scale_fit="train")
    np.testing.assert_array_equal(prep.x[:, 1], expr.loc["HIGH"].to_numpy())
    assert prep.summary["scaling"] == "zscore" and not prep.summary["scaled"]


def test_constant_gene_scales_to_zero_not_nan():
    x = np.array([[1, 5], [2, 5], [3, 5]], dtype=np.float32)
    for method in ("minmax", "zscore"):
        offset, scale = fit_scaler(x, method)
        scaled = apply_scaler(x, offset, scale)
        assert scaled.dtype == np.float32 and np.isfinite(scaled).all()
        np.testing.assert_array_equal(scaled[:, 1], 0)


@pytest.mark.parametrize("option", ["na_policy", "duplicates", "variability", "scaling",
                                    "scale_fit"])
def test_unknown_option_names_option_and_allowed_values(expr, option):
    with pytest.raises(DataError, match=f"unknown {option}='bogus'; allowed: "):
        preprocess(expr, top_k=3, **{option: "bogus"})


def test_bad_top_k(expr):
    with pytest.raises(DataError, match="top_k=0"):
        preprocess(expr, top_k=0)


# ---------------------------------------------------------------------------------------------
# save / load


def test_save_load_round_trip(expr, tmp_path):
    prep = preprocess(expr, top_k=3)
    paths = [tmp_path / "out" / name for name in ("x.npy", "genes.txt", "samples.txt", "s.json")]
    save_preprocessed(prep, *paths)
    loaded = load_preprocessed(*paths)
    np.testing.assert_array_equal(loaded.x, prep.x)
    assert loaded.x.dtype == np.float32 and loaded.x.flags.c_contiguous
    assert (loaded.genes, loaded.samples, loaded.summary) == (prep.genes, prep.samples,
                                                               prep.summary)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)


def test_failed_save_leaves_no_file(tmp_path):
    prep = Preprocessed(np.zeros((2, 2), np.float32), ["a", "b"], ["s1", "s2"], {"bad": {1, 2}})
    paths = [tmp_path / name for name in ("x.npy", "genes.txt", "samples.txt", "s.json")]
    with pytest.raises(TypeError):
        save_preprocessed(prep, *paths)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["genes.txt", "samples.txt", "x.npy"]


def test_load_checks_id_count(expr, tmp_path):
    prep = preprocess(expr, top_k=3)
    paths = [tmp_path / name for name in ("x.npy", "genes.txt", "samples.txt", "s.json")]
    save_preprocessed(prep, *paths)
    paths[1].write_text("SPIKE\nHIGH\n")
    with pytest.raises(DataError, match="genes.txt: 2 ids, but the matrix has 3"):
        load_preprocessed(*paths)


# ---------------------------------------------------------------------------------------------
# split_indices


def test_split_is_deterministic_disjoint_and_covering():
    train, val = split_indices(101, 0.1, seed=7)
    assert len(val) == 10 and len(train) == 91
    assert train.dtype == np.int64 and (np.diff(train) > 0).all() and (np.diff(val) > 0).all()
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(101))
    again_train, again_val = split_indices(101, 0.1, seed=7)
    np.testing.assert_array_equal(val, again_val)
    np.testing.assert_array_equal(train, again_train)
    assert not np.array_equal(val, split_indices(101, 0.1, seed=8)[1])


def test_split_keeps_at_least_one_on_each_side():
    assert [len(part) for part in split_indices(5, 0.01, 0)] == [4, 1]
    assert [len(part) for part in split_indices(5, 0.99, 0)] == [1, 4]


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_split_bad_fraction(fraction):
    with pytest.raises(DataError, match="val_fraction"):
        split_indices(10, fraction, 0)


# ---------------------------------------------------------------------------------------------
# Synthetic data

NA_TYPES = {"UCEC", "COAD", "READ", "LAML", "STAD", "ESCA"}


@pytest.fixture(scope="module")
def synthetic():
    return make_synthetic(600, 2000, seed=0)


def test_synthetic_is_deterministic(synthetic):
    expr, phenotype = synthetic
    again, again_phenotype = make_synthetic(600, 2000, seed=0)
    assert expr.equals(again) and phenotype.equals(again_phenotype)
    assert not expr.equals(make_synthetic(600, 2000, seed=1)[0])


def test_synthetic_samples_look_like_tcga(synthetic):
    expr, phenotype = synthetic
    assert list(phenotype.columns) == ["sample", "cancer type abbreviation", "sample_type",
                                       "age_at_initial_pathologic_diagnosis", "gender", "OS",
                                       "OS.time"]
    assert list(phenotype["sample"]) == list(expr.columns)
    assert phenotype["cancer type abbreviation"].nunique() == 33
    assert phenotype["cancer type abbreviation"].value_counts().index[0] == "BRCA"
    assert phenotype["sample"].str.fullmatch(r"TCGA-[0-9A-Z]{2}-[0-9A-Z]{4}-(01|03|06|11)").all()
    assert phenotype["sample"].is_unique
    normal = phenotype["sample"].str.endswith("-11")
    assert 0.03 < normal.mean() < 0.12
    assert (phenotype["sample_type"][normal] == "Solid Tissue Normal").all()
    laml = phenotype["cancer type abbreviation"] == "LAML"
    assert phenotype["sample"][laml].str.endswith("-03").all()
    assert phenotype["sample"].str.endswith("-06").any()


def test_synthetic_values_look_like_tcga(synthetic):
    expr, phenotype = synthetic
    values = expr.to_numpy()
    assert values.dtype == np.float32
    present = values[~np.isnan(values)]
    assert 0.005 < (present == 0).mean() < 0.03
    assert 0.001 < (present < 0).mean() < 0.01
    assert present.max() < 21 and present.min() >= -6
    assert 7 < np.median(present) < 9.5
    duplicated = expr.index[expr.index.duplicated(keep=False)]
    assert len(duplicated) == 2 and duplicated.nunique() == 1
    assert any(gene.isdigit() for gene in expr.index)


def test_synthetic_na_blocks_only_in_the_six_types(synthetic):
    expr, phenotype = synthetic
    values = expr.to_numpy()
    for cancer in phenotype["cancer type abbreviation"].unique():
        block = values[:, (phenotype["cancer type abbreviation"] == cancer).to_numpy()]
        na_genes = np.isnan(block).any(axis=1)
        if cancer in NA_TYPES:
            assert 0.05 < na_genes.mean() < 0.25, cancer
            # a block: every sample of the type is NA for those genes
            assert np.isnan(block[na_genes]).all(), cancer
        else:
            assert not na_genes.any(), cancer


def test_synthetic_na_policies_give_different_gene_sets(synthetic):
    expr, _ = synthetic
    dropped = preprocess(expr, top_k=500)
    filled = preprocess(expr, top_k=500, na_policy="fill_zero")
    assert dropped.summary["genes_dropped_na"] > 100
    assert set(dropped.genes) != set(filled.genes)


def test_synthetic_round_trips_through_xena(tmp_path, synthetic):
    expr, _ = synthetic
    path = tmp_path / "synthetic.tsv.gz"
    write_xena(expr, path)
    back = read_xena(path)
    assert list(back.index) == list(expr.index) and list(back.columns) == list(expr.columns)
    np.testing.assert_allclose(back.to_numpy(), expr.to_numpy(), rtol=1e-3, atol=1e-3)
    assert [p.name for p in tmp_path.iterdir()] == ["synthetic.tsv.gz"]  # no temp file left


def test_write_synthetic_and_read_phenotype(tmp_path):
    write_synthetic(tmp_path / "e.tsv.gz", tmp_path / "p.tsv", 100, 300, seed=3)
    expr, phenotype = make_synthetic(100, 300, seed=3)
    assert read_xena(tmp_path / "e.tsv.gz").shape == (300, 100)
    table = read_phenotype(tmp_path / "p.tsv")
    assert list(table["sample"]) == list(phenotype["sample"])
    assert list(table["label"]) == list(phenotype["cancer type abbreviation"])
    assert list(table["survival_event"]) == [str(v) for v in phenotype["OS"]]
    assert list(table["gender"]) == list(phenotype["gender"])


def test_read_phenotype_xena_survival_table(tmp_path):
    path = tmp_path / "Survival_SupplementalTable_S1_20171025_xena_sp"
    path.write_text("sample\t_PATIENT\tcancer type abbreviation\tOS\tOS.time\n"
                    "TCGA-OR-A5J1-01\tTCGA-OR-A5J1\tACC\t1\t1355\n"
                    "TCGA-BH-A0B3-11\tTCGA-BH-A0B3\tBRCA\t0\t\n")
    table = read_phenotype(path)
    assert table.to_dict("list") == {
        "sample": ["TCGA-OR-A5J1-01", "TCGA-BH-A0B3-11"],
        "label": ["ACC", "BRCA"],
        "sample_type": ["Primary Tumor", "Solid Tissue Normal"],
        "survival_time": ["1355", ""],
        "survival_event": ["1", "0"],
    }


def test_read_phenotype_without_its_label_column(tmp_path):
    path = tmp_path / "p.tsv"
    path.write_text("sample\tdisease\nTCGA-OR-A5J1-01\tACC\n")
    with pytest.raises(DataError, match="p.tsv: no label column 'cancer type abbreviation' "
                                        r"\(datasets.x.columns.label; columns: sample, disease\)"):
        read_phenotype(path, where="datasets.x.columns")


def test_a_lazy_name_is_the_same_whichever_name_of_its_room_comes_first():
    """vaebench.data hands its names on lazily; importing the room `preprocess` for another of
    its names must not leave `preprocess` bound to the room instead of the function."""
    code = ("from vaebench.data import load_preprocessed\nfrom vaebench import data\n"
            "from vaebench.data import preprocess\n"
            "print(callable(data.preprocess), callable(preprocess))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env={**os.environ, "PYTHONPATH": str(
                              Path(__file__).resolve().parents[1] / "workflow" / "scripts")})
    assert done.stdout.split() == ["True", "True"]
