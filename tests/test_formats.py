"""Every input format reads to the same data; each bad input stops with file and column named."""

import gzip
import json

import numpy as np
import pandas as pd
import pytest
from helpers import REPO, snakemake, write_config

from vaebench.data import (
    DataError,
    check_orientation,
    make_synthetic,
    preprocess,
    read_expression,
    read_phenotype,
    write_synthetic,
)

SHAPE = (120, 80, 4)  # samples, genes, seed
ANNDATA = REPO / "tests" / "data" / "anndata"  # written by anndata itself (make.py there)


def same_preprocessed(a, b, exact=True):
    assert a.genes == b.genes and a.samples == b.samples
    if exact:
        np.testing.assert_array_equal(a.x, b.x)
    else:
        np.testing.assert_allclose(a.x, b.x, atol=2e-3)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The same synthetic dataset written in every format and orientation."""
    folder = tmp_path_factory.mktemp("formats")
    n, g, seed = SHAPE
    write_synthetic(folder / "xena.tsv.gz", folder / "xena_pheno.tsv", n, g, seed)
    write_synthetic(folder / "dense.h5ad", None, n, g, seed, format="h5ad")
    write_synthetic(folder / "sparse.h5ad", None, n, g, seed, format="h5ad", sparse=True)
    write_synthetic(folder / "rows.csv.gz", None, n, g, seed, format="table", samples_as="rows")
    write_synthetic(folder / "rows.tsv", folder / "rows_pheno.csv", n, g, seed, format="table",
                    samples_as="rows")
    write_synthetic(folder / "columns.tsv.gz", folder / "columns_pheno.tsv", n, g, seed,
                    format="table", samples_as="columns")
    write_synthetic(folder / "columns.csv", folder / "columns_pheno.csv", n, g, seed,
                    format="table", samples_as="columns")
    write_synthetic(folder / "counts.tsv", folder / "counts_pheno.tsv", n, g, seed,
                    format="table", samples_as="columns", counts=True)
    return folder


def test_every_format_preprocesses_to_the_same_matrix_genes_and_samples(files):
    expr, _ = make_synthetic(*SHAPE)
    options = {"top_k": 40, "na_policy": "fill_zero"}
    exact = preprocess(expr, **options)
    text = preprocess(read_expression(files / "xena.tsv.gz"), **options)  # 4 digits, as Xena
    same_preprocessed(text, exact, exact=False)
    same_preprocessed(preprocess(read_expression(files / "dense.h5ad", "h5ad"), **options), exact)
    # sparse: a missing value is stored as 0, what fill_zero makes of it anyway
    same_preprocessed(preprocess(read_expression(files / "sparse.h5ad", "h5ad"), **options),
                      exact)
    for name, samples_as in (("rows.csv.gz", "rows"), ("rows.tsv", "rows"),
                             ("columns.tsv.gz", "columns"), ("columns.csv", "columns")):
        table = read_expression(files / name, "table", samples_as=samples_as,
                                annotation_columns=["cancer type abbreviation", "sample_type",
                                                    "OS", "OS.time", "gender",
                                                    "age_at_initial_pathologic_diagnosis"])
        same_preprocessed(preprocess(table, **options), text)  # the same text as Xena's


def test_what_anndata_wrote_is_read_as_it_was_written():
    expr, phenotype = make_synthetic(60, 40, 5)  # what tests/data/anndata/make.py wrote
    dense = read_expression(ANNDATA / "dense.h5ad", "h5ad")
    assert list(dense.index) == list(expr.index) and list(dense.columns) == list(expr.columns)
    # The files were written on another machine: numpy's vectorised exp and log may round the
    # generator's float32 values 1 ulp apart between CPUs (AVX2 against AVX-512), hence rtol.
    np.testing.assert_allclose(dense.to_numpy(), expr.to_numpy(), rtol=1e-6)  # NaN blocks too
    for name in ("sparse.h5ad", "sparse_csc.h5ad"):
        sparse = read_expression(ANNDATA / name, "h5ad")
        np.testing.assert_allclose(sparse.to_numpy(), np.nan_to_num(expr.to_numpy()), rtol=1e-6)
    counts = read_expression(ANNDATA / "dense.h5ad", "h5ad", layer="counts")
    assert counts.to_numpy().min() >= 0 and counts.shape == expr.shape

    obs = read_phenotype(ANNDATA / "dense.h5ad", "h5ad")
    assert list(obs["sample"]) == list(phenotype["sample"])
    assert list(obs["label"]) == list(phenotype["cancer type abbreviation"])  # a categorical
    assert obs["survival_event"].iloc[0] == ""  # a nullable integer's missing value
    assert list(obs["survival_event"].iloc[1:]) == [str(v) for v in phenotype["OS"].iloc[1:]]
    assert [float(v) for v in obs["survival_time"]] == list(phenotype["OS.time"])
    assert list(obs["gender"]) == list(phenotype["gender"])


def test_every_format_gives_the_same_annotations(files):
    reference = read_phenotype(files / "xena_pheno.tsv")
    assert {"label", "survival_time", "survival_event", "gender"} <= set(reference.columns)
    for path, how in (("dense.h5ad", "h5ad"), ("rows.csv.gz", "in_table"),
                      ("rows_pheno.csv", "table"), ("columns_pheno.tsv", "table")):
        pd.testing.assert_frame_equal(read_phenotype(files / path, how), reference, obj=path)


def test_counts_with_log2p1_give_the_log_values(files):
    logs = preprocess(read_expression(files / "xena.tsv.gz"), top_k=40, na_policy="fill_zero")
    counts = preprocess(read_expression(files / "counts.tsv", "table", samples_as="columns"),
                        top_k=40, na_policy="fill_zero", transform="log2p1")
    assert counts.summary["transform"] == "log2p1" and logs.summary["transform"] == "none"
    assert len(set(counts.genes) & set(logs.genes)) >= 36  # rounding counts moves a few ties
    with pytest.raises(DataError, match=r"transform log2p1 expects counts \(>= 0\), but gene "
                                        r".* is -\d"):
        preprocess(read_expression(files / "xena.tsv.gz"), top_k=40, transform="log2p1")


# ----- bad input: each names the file and the column -----

def test_a_missing_column_is_named(files):
    with pytest.raises(DataError, match=r"dense.h5ad: no label column 'tissue' "
                                        r"\(datasets.d.columns.label; columns: sample, "):
        read_phenotype(files / "dense.h5ad", "h5ad", {"label": "tissue"},
                       where="datasets.d.columns")
    with pytest.raises(DataError, match=r"rows_pheno.csv: no survival_time column 'days' "):
        read_phenotype(files / "rows_pheno.csv", "table", {"survival_time": "days"})
    # a default column may be absent (not every cohort has survival), a named one may not
    table = pd.read_csv(files / "rows_pheno.csv").drop(columns=["OS.time"])
    table.to_csv(files / "no_time.csv", index=False)
    assert "survival_time" not in read_phenotype(files / "no_time.csv").columns
    with pytest.raises(DataError, match="dense.h5ad: no layers/raw .layers in the file: none"):
        read_expression(files / "dense.h5ad", "h5ad", layer="raw")


def test_a_wrong_orientation_is_named(files):
    annotations = files / "columns_pheno.tsv"
    with pytest.raises(DataError, match=r"columns.tsv.gz: table.samples_as is rows, but its "
                                        r"header holds 120 sample ids of the annotations "
                                        r".*columns_pheno.tsv \(column 2: 'TCGA-"):
        check_orientation(files / "columns.tsv.gz", "rows", annotations, "sample",
                          "table.samples_as")
    with pytest.raises(DataError, match=r"rows.tsv: table.samples_as is columns, but its first "
                                        r"column holds 120 sample ids"):
        check_orientation(files / "rows.tsv", "columns", annotations, "sample", "table.samples_as")
    check_orientation(files / "rows.tsv", "rows", annotations, "sample", "table.samples_as")
    # annotations in a table read the wrong way round: the label column is not in its header
    with pytest.raises(DataError, match="columns.csv: no label column 'cancer type abbreviation'"):
        read_phenotype(files / "columns.csv", "in_table")


def test_a_non_numeric_cell_is_named(files, tmp_path):
    lines = gzip.decompress((files / "columns.tsv.gz").read_bytes()).decode().splitlines()
    cells = lines[5].split("\t")
    cells[3] = "12,5"
    lines[5] = "\t".join(cells)
    path = tmp_path / "bad.tsv"
    path.write_text("\n".join(lines) + "\n")
    sample = lines[0].split("\t")[3]
    with pytest.raises(DataError, match=rf"bad.tsv, line 6, column '{sample}' \(gene "
                                        rf"'{cells[0]}'\): '12,5' is not a number or missing"):
        read_expression(path, "table", samples_as="columns")
    # a samples-as-rows table whose annotation column is not declared: named, not guessed
    with pytest.raises(DataError, match=r"rows.csv.gz, line 2, column 'cancer type "
                                        r"abbreviation' \(sample 'TCGA-.*'\): '[A-Z]+' is not"):
        read_expression(files / "rows.csv.gz", "table", samples_as="rows")
    short = tmp_path / "short.csv"
    short.write_text("gene,a,b\ng1,1,2\ng2,3\n")
    with pytest.raises(DataError, match="short.csv, line 3: 2 fields, expected 3"):
        read_expression(short, "table", samples_as="columns")


def test_a_label_column_with_one_class_is_named(files, tmp_path):
    obs = pd.read_csv(files / "rows_pheno.csv").assign(tissue="lung")
    obs.to_csv(tmp_path / "one.csv", index=False)
    with pytest.raises(DataError, match=r"one.csv: the label column 'tissue' has one class, "
                                        r"'lung' in all 120 samples"):
        read_phenotype(tmp_path / "one.csv", "table", {"label": "tissue"})


def test_survival_values_are_checked(files, tmp_path):
    obs = pd.read_csv(files / "rows_pheno.csv", dtype=str)
    obs.loc[3, "OS"] = "dead"
    obs.to_csv(tmp_path / "event.csv", index=False)
    with pytest.raises(DataError, match=rf"event.csv: column 'OS', sample '{obs['sample'][3]}': "
                                        r"'dead' is not an event"):
        read_phenotype(tmp_path / "event.csv")


def test_not_an_hdf5_file(tmp_path):
    (tmp_path / "x.h5ad").write_text("sample\ta\n")
    with pytest.raises(DataError, match="x.h5ad: not an HDF5 file"):
        read_expression(tmp_path / "x.h5ad", "h5ad")


# ----- the workflow, end to end, on every format -----

def study(dataset):
    return {"dataset": dataset, "preprocess": "minmax",
            "base": {"hidden": [16], "latent": 3, "batch_size": 40, "epochs": 2},
            "grid": {"init": ["default", "normal"]}, "figure": {"kind": "curves", "hue": "init"},
            "save_latent": {}}


@pytest.mark.workflow
def test_the_workflow_runs_on_every_format(files, tmp_path):
    """Each format through the workflow to its latent scores, one run each."""
    datasets = {
        "h5ad": {"h5ad": {"path": str(files / "sparse.h5ad")}},
        "rows": {"table": {"path": str(files / "rows.csv.gz"), "samples_as": "rows"}},
        "columns": {"table": {"path": str(files / "columns.tsv.gz"), "samples_as": "columns",
                              "phenotype": {"path": str(files / "columns_pheno.tsv")}}},
        "counts": {"table": {"path": str(files / "counts.tsv"), "samples_as": "columns",
                             "phenotype": {"path": str(files / "counts_pheno.tsv")}},
                   "transform": "log2p1",
                   "columns": {"label": "gender", "clinical": ["OS"]}},
    }
    studies = {name: {**study(name), "grid": {"init": ["default"]}} for name in datasets}
    cfg = {"datasets": datasets, "preprocess": {"minmax": {"top_k": 40}},
           "defaults": {"device": "cpu"}, "studies": studies}
    # up to the latent scores: the figures and statistics after them read no input file
    snakemake("--cores", "2", *(f"results/{name}/tables/latent.csv" for name in datasets),
              "--directory", str(tmp_path), "--configfile",
              str(write_config(tmp_path / "config.yaml", cfg)))
    matrices = {}
    for name in datasets:
        scores = pd.read_csv(tmp_path / f"results/{name}/tables/latent.csv")
        assert len(scores) == 1 and (scores["n_types"] >= 2).all() and \
            (scores["n_unannotated"] == 0).all(), name
        folder = next((tmp_path / "results" / "data" / name).glob("input-*"))
        phenotype = pd.read_csv(folder / "phenotype.tsv", sep="\t")
        summary = json.loads((folder / "minmax" / "summary.json").read_text())
        assert summary["transform"] == datasets[name].get("transform", "none")
        matrices[name] = np.load(folder / "minmax" / "matrix.npy")
        if name == "counts":  # the label is the sex; only the named covariate is kept
            assert set(phenotype["label"]) == {"FEMALE", "MALE"}
            assert "OS" in phenotype.columns and "gender" not in phenotype.columns
        else:
            assert phenotype["label"].nunique() > 10 and "survival_time" in phenotype.columns
    # h5ad holds float32, the tables 4 digits: the same matrix to that precision
    np.testing.assert_allclose(matrices["rows"], matrices["columns"])
    np.testing.assert_allclose(matrices["h5ad"], matrices["columns"], atol=2e-3)


@pytest.mark.workflow
def test_a_table_read_the_wrong_way_round_stops_before_training(files, tmp_path):
    cfg = {"datasets": {"t": {"table": {"path": str(files / "columns.tsv.gz"),
                                        "samples_as": "rows",
                                        "phenotype": {"path": str(files / "columns_pheno.tsv")}}}},
           "preprocess": {"minmax": {"top_k": 40}}, "defaults": {"device": "cpu"},
           "studies": {"t": study("t")}}
    done = snakemake("--cores", "1", "--directory", str(tmp_path), "--configfile",
                     str(write_config(tmp_path / "config.yaml", cfg)), check=False)
    assert done.returncode != 0
    assert ("vaebench: rule preprocess (dataset=t, source=" in done.stderr and
            f"failed: {files / 'columns.tsv.gz'}: datasets.t.table.samples_as is rows, but its "
            "header holds 120 sample ids" in done.stderr)
    assert not list(tmp_path.glob("results/t/runs/*/run.json"))


# Files that are almost right, and annotations with holes -------------------------------------

def test_every_reader_refuses_a_repeated_sample_id_and_says_how_often(tmp_path):
    expr, phenotype = make_synthetic(30, 20, 3)
    expr.columns = [*expr.columns[:-3], *[expr.columns[0]] * 3]  # the first id 4 times
    from vaebench.data import write_h5ad, write_table, write_xena

    write_xena(expr, tmp_path / "x.tsv")
    write_table(expr, tmp_path / "rows.csv", "rows")
    write_table(expr, tmp_path / "columns.tsv", "columns")
    first = expr.columns[0]
    for path, how in (("x.tsv", {"format": "xena"}),
                      ("rows.csv", {"format": "table", "samples_as": "rows"}),
                      ("columns.tsv", {"format": "table", "samples_as": "columns"})):
        with pytest.raises(DataError, match=f"{path}.*sample id '{first}' occurs 4 times"):
            read_expression(tmp_path / path, **how)
    # AnnData keeps repeated obs names (it only warns): refused at read time, expression and obs
    write_h5ad(expr, phenotype.assign(sample=expr.columns), tmp_path / "d.h5ad")
    for read in (lambda p: read_expression(p, "h5ad"), lambda p: read_phenotype(p, "h5ad")):
        with pytest.raises(DataError, match=rf"d.h5ad \(obs index.*sample id '{first}' occurs "
                                            "4 times"):
            read(tmp_path / "d.h5ad")
    phenotype.assign(sample=expr.columns).to_csv(tmp_path / "p.csv", index=False)
    with pytest.raises(DataError, match=f"p.csv \\(column 'sample'\\): sample id '{first}' "
                                        "occurs 4 times"):
        read_phenotype(tmp_path / "p.csv")


def test_a_csv_with_a_byte_order_mark_is_read_as_without(files, tmp_path):
    """Excel's "CSV UTF-8" starts the file with a byte-order mark: still a legitimate file."""
    annotations = ["cancer type abbreviation", "sample_type", "OS", "OS.time", "gender",
                   "age_at_initial_pathologic_diagnosis"]
    for name, samples_as in (("rows.csv.gz", "rows"), ("columns.csv", "columns")):
        text = (files / name).read_bytes()
        marked = tmp_path / name.removesuffix(".gz")
        marked.write_bytes(b"\xef\xbb\xbf" + (gzip.decompress(text) if name.endswith(".gz")
                                               else text))
        pd.testing.assert_frame_equal(
            read_expression(marked, "table", samples_as=samples_as,
                            annotation_columns=annotations),
            read_expression(files / name, "table", samples_as=samples_as,
                            annotation_columns=annotations))
    marked = tmp_path / "pheno.csv"
    marked.write_bytes(b"\xef\xbb\xbf" + (files / "rows_pheno.csv").read_bytes())
    pd.testing.assert_frame_equal(read_phenotype(marked), read_phenotype(files / "rows_pheno.csv"))


def test_an_hdf5_file_that_is_not_anndata_is_called_what_it_is(tmp_path):
    import h5py

    with h5py.File(tmp_path / "filtered_feature_bc_matrix.h5", "w") as f:  # 10x's layout
        group = f.create_group("matrix")
        for name in ("data", "indices", "indptr", "barcodes", "shape"):
            group.create_dataset(name, data=np.arange(3))
    with pytest.raises(DataError, match="a 10x Genomics HDF5 matrix.*not AnnData.*"
                                        r"scanpy.read_10x_h5\(path\).write_h5ad"):
        read_expression(tmp_path / "filtered_feature_bc_matrix.h5", "h5ad")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.create_dataset("values", data=np.arange(3))
    with pytest.raises(DataError, match=r"other.h5: an HDF5 file, but not AnnData \(it holds "
                                        "values; AnnData has X, obs and var\\)"):
        read_phenotype(tmp_path / "other.h5", "h5ad")
    with pytest.raises(DataError, match=f"h5ad file {tmp_path} is a directory, not a file"):
        read_expression(tmp_path, "h5ad")


def test_missing_values_read_the_same_whatever_their_spelling(tmp_path):
    from vaebench.data import MISSING_VALUES

    _, phenotype = make_synthetic(40, 20, 3)
    tokens = [t for t in MISSING_VALUES if t]
    phenotype["gender"] = [tokens[i % len(tokens)] if i < 16 else v
                           for i, v in enumerate(phenotype["gender"])]
    phenotype["OS.time"] = ["[Not Available]", "#N/A", "NA", "",
                            *phenotype["OS.time"].astype(str)[4:]]
    phenotype.to_csv(tmp_path / "p.csv", index=False)
    table = read_phenotype(tmp_path / "p.csv")
    assert list(table["gender"][:16]) == [""] * 16 and set(table["gender"][16:]) <= {"MALE",
                                                                                    "FEMALE"}
    assert list(table["survival_time"][:4]) == [""] * 4


def test_an_anndata_label_with_no_value_in_any_sample_is_named(tmp_path):
    import h5py

    from vaebench.data import write_h5ad

    expr, phenotype = make_synthetic(30, 20, 3)
    write_h5ad(expr, phenotype.assign(tissue="x"), tmp_path / "d.h5ad")
    with h5py.File(tmp_path / "d.h5ad", "r+") as f:  # as anndata stores an all-NaN category
        column = f["obs/tissue"]
        del column["categories"], column["codes"]
        column.create_dataset("categories", data=np.array([], dtype=object),
                              dtype=h5py.string_dtype())
        column.create_dataset("codes", data=np.full(30, -1, dtype=np.int8))
    with pytest.raises(DataError, match="the label column 'tissue' has no values in all 30 "
                                        "samples: latent spaces need at least two groups"):
        read_phenotype(tmp_path / "d.h5ad", "h5ad", {"label": "tissue"})


def test_a_label_with_a_class_per_sample_is_refused_with_what_a_label_needs(tmp_path):
    from vaebench.data import check_scorable_label

    _, phenotype = make_synthetic(30, 20, 3)
    phenotype.assign(patient=[f"P{i}" for i in range(30)]).to_csv(tmp_path / "p.csv",
                                                                  index=False)
    table = read_phenotype(tmp_path / "p.csv", columns={"label": "patient"})
    with pytest.raises(DataError, match=r"p.csv: the label column 'patient' has 30 classes "
                                        r"among its 30 labelled samples, e.g. 'P\d+' with 1; 0 "
                                        "with 5 or more samples: latent spaces are scored "
                                        "against at least two classes of 5 or more.*not a "
                                        r"per-sample id\): choose another column "
                                        r"\(columns.label\)"):
        check_scorable_label(table, tmp_path / "p.csv", "patient", "columns")
    _, many = make_synthetic(200, 20, 3)  # cancer types in TCGA's proportions: scorable
    many.to_csv(tmp_path / "types.csv", index=False)
    check_scorable_label(read_phenotype(tmp_path / "types.csv"), "types.csv", "c", "columns")


def test_log2p1_on_values_already_logged_is_warned_about(tmp_path):
    expr, _ = make_synthetic(40, 60, 3)  # log2(x + 1) values, as Xena serves them
    logged = preprocess(expr, top_k=20, transform="log2p1").summary
    assert "look logged already" in logged["warnings"][0]
    assert "transform: none" in logged["warnings"][0]
    counts = np.round(2 ** expr.fillna(0) - 1)
    assert "warnings" not in preprocess(counts, top_k=20, transform="log2p1").summary
