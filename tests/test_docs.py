"""The documentation stays true: what it points at exists, its commands run, and the options,
files, columns and numbers it names are those of the schema, the rules and a real run."""

import json
import math
import re
import shlex
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import REPO, job_counts, write_config

# the repository's top-level folders: a path in the docs starting with one names a file of ours
FOLDERS = ("workflow/", "config/", "bench/", "tests/", "profiles/", "envs/", "docs/", "report/")
# what a user runs the documented commands in: a clone (results/ and .snakemake/ are the test's)
CHECKOUT = ("Snakefile", "workflow", "config", "profiles", "envs")
DRY_RUN = ("-n", "--dry-run", "--dryrun")


def documents() -> list[Path]:
    return [REPO / p for p in subprocess.run(["git", "ls-files", "*.md"], cwd=REPO,
                                             capture_output=True, text=True,
                                             check=True).stdout.split()]


def read(name: str) -> str:
    return (REPO / name).read_text()


def flat(name: str) -> str:
    """The document with its line breaks and runs of spaces as single spaces."""
    return " ".join(read(name).split())


def named_paths(text):
    """Markdown link targets that are not URLs or anchors, and `code` spans that are repository
    paths (a top-level folder, no placeholder such as <study>, * or {run})."""
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if not target.startswith(("http://", "https://", "#", "mailto:")):
            yield target.split("#")[0], "link"
    for span in re.findall(r"`([^`\s]+)`", text):
        span = span.rstrip(".,;:")
        if span.startswith(FOLDERS) and not re.search(r"[<>*{}$]|\.\.\.|…", span):
            yield span.split(":")[0], "path"


def test_every_file_the_docs_name_exists():
    missing = [f"{doc.relative_to(REPO)}: {path} ({kind})"
               for doc in documents() for path, kind in named_paths(doc.read_text())
               if not ((doc.parent / path) if kind == "link" else REPO / path).exists()]
    assert not missing, "\n".join(missing)


def test_nothing_points_outside_the_repository():
    """A clone has no ../shared/ (the papers and notes the project was built from): the docs,
    configs and code cite the papers by title, DOI or URL instead, and none of the notes."""
    pattern = (r"(\.\./|/work/)shared/|shared/(papers|reference)/"
               r"|\b(models|eltager2023|slurm-local|DESIGN)\.md\b")
    found = subprocess.run(["git", "grep", "-n", "-E", pattern, "--", ".", ":!tests/test_docs.py"],
                           cwd=REPO, capture_output=True, text=True).stdout
    assert not found, found


def headings(path: Path) -> set[str]:
    return {m[1].strip() for m in re.finditer(r"^#+ (.+)$", path.read_text(), re.M)}


def test_every_section_a_file_cites_exists():
    """`README "Sharing GPUs"`, `docs/analysis.md, "Latent space"`: comments, docstrings and
    docs point to sections by title; a renamed section fails here, not in a reader's hands."""
    cited = subprocess.run(
        ["git", "grep", "-n", "-E", r"(README|\.md)`?,? \"", "--", ".", ":!tests/test_docs.py"],
        cwd=REPO, capture_output=True, text=True).stdout
    dead = []
    for hit in cited.splitlines():
        where, _, line = hit.partition(":")
        for doc, title in re.findall(r"`?((?:[\w./-]*/)?[\w-]+\.md|README)`?,? \"([^\"]+)\"",
                                     line):
            path = REPO / ("README.md" if doc == "README" else doc)
            if not path.exists():
                path = REPO / Path(where).parent / doc
            if title not in headings(path):
                dead.append(f"{where}: {doc} \"{title}\"")
    assert cited and not dead, "\n".join(dead)


def code_blocks(text: str, language: str):
    for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.M | re.S):
        if m[1] == language or (language == "bash" and m[1] == "sh"):
            yield m[2]


def user_documents() -> list[Path]:
    """What a user follows; bench/ and tests/ READMEs record how things were measured."""
    return [doc for doc in documents()
            if doc.relative_to(REPO).parts[0] not in ("bench", "tests")]


def documented_commands(program: str):
    """(document, command words, its comment) of every command of a bash block of the user's
    docs that runs `program`; `.venv/bin/` and a trailing `| tail` are a user's choices."""
    for doc in user_documents():
        for block in code_blocks(doc.read_text(), "bash"):
            for line in block.replace("\\\n", " ").splitlines():
                if line.lstrip().startswith("#"):
                    continue
                command, _, comment = line.partition(" #")
                words = shlex.split(command.split(" | ")[0])
                if words and Path(words[0]).name == program:
                    yield doc.relative_to(REPO), words, comment.strip()


def test_a_command_called_a_dry_run_is_one():
    """Pasted as shown, a "dry-run" without -n submits the whole benchmark."""
    wrong = [f"{doc}: {shlex.join(words)}  # {comment}"
             for doc, words, comment in documented_commands("snakemake")
             if re.search(r"dry.?run|plan", comment, re.I)
             and not set(words) & set(DRY_RUN)]
    assert not wrong, "\n".join(wrong)


def cut_benchmark(path: Path) -> Path:
    """config/eltager2023.yaml with every axis but the model cut to two values: its full DAG of
    12,973 jobs takes Snakemake a minute (bench/README.md), the cut one seconds, through the
    same rules, profile and settings."""
    cfg = yaml.safe_load(read("config/eltager2023.yaml"))
    grid = cfg["studies"]["benchmark"]["grid"]
    for axis in grid:
        grid[axis] = grid[axis] if axis == "model" else grid[axis][:2]
    return write_config(path, cfg)


def as_dry_run(words: list[str], cut: Path) -> list[str]:
    """The documented command as a dry-run: -n added where missing. Without conda (CI has none)
    `--sdm conda` and `--conda-create-envs-only` are dropped: they need conda even to plan, and
    tests/test_envs.py checks the envs instead. The benchmark runs on its cut grid."""
    args = words[1:]
    if not set(args) & set(DRY_RUN):
        args = ["-n", *args]
    if shutil.which("conda") is None:
        args = [a for a, before in zip(args, [None, *args])
                if (a, before) != ("conda", "--sdm") and a not in ("--sdm",
                                                                   "--conda-create-envs-only")]
    return [str(cut) if a == "config/eltager2023.yaml" else a for a in args]


@pytest.fixture(scope="module")
def documented_dry_runs(tmp_path_factory):
    """{dry-run args: console} for every documented `snakemake` command, each in a checkout of
    its own where the docs' example files exist: the YAML blocks that open with `# <name>.yaml`
    are written, and the documented `vaebench synth` commands run."""
    base = tmp_path_factory.mktemp("documented")
    for doc in user_documents():
        for block in code_blocks(doc.read_text(), "yaml"):
            name = re.match(r"# (\S+\.yaml)\n", block)
            if name:
                (base / name[1]).write_text(block)
    vaebench = Path(sys.executable).with_name("vaebench")
    for _, words, _ in documented_commands("vaebench"):
        if words[1] == "synth":
            subprocess.run([str(vaebench), *words[1:]], cwd=base, check=True,
                           capture_output=True)
    cut = cut_benchmark(base / "eltager2023_cut.yaml")
    commands = {tuple(as_dry_run(words, cut)): None
                for _, words, _ in documented_commands("snakemake")}

    def dry_run(numbered):
        number, args = numbered
        checkout = base / f"checkout{number}"
        checkout.mkdir()
        for entry in base.iterdir():
            if entry.is_file() or entry.name == "ex":
                (checkout / entry.name).symlink_to(entry)
        for name in CHECKOUT:
            (checkout / name).symlink_to(REPO / name)
        done = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=checkout,
                              capture_output=True, text=True, timeout=600)
        return args, done

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(pool.map(dry_run, enumerate(commands)))
    return results


def console(dry_runs, *words) -> str:
    """The console of the first documented dry-run whose args contain all of `words` (a config
    file by its name), with no --configfile when `words` name none."""
    named = any(w.endswith(".yaml") for w in words)
    found = [done for args, done in dry_runs.items()
             if all(any(a == w or a.endswith("/" + w) for a in args) for w in words)
             and (named or "--configfile" not in args)]
    assert found, f"no documented snakemake command with {words}"
    return found[0].stdout + found[0].stderr


def test_every_documented_snakemake_command_plans(documented_dry_runs):
    failed = [f"snakemake {shlex.join(args)}:\n{done.stderr[-2000:]}"
              for args, done in documented_dry_runs.items() if done.returncode != 0]
    assert len(documented_dry_runs) >= 10 and not failed, "\n\n".join(failed)


def test_the_readme_counts_the_default_pipeline(documented_dry_runs):
    readme = flat("README.md")
    jobs = job_counts(console(documented_dry_runs, "--cores", "8"))
    assert int(re.search(r"the pipeline's (\d+) jobs", readme)[1]) == sum(jobs.values())
    runs = jobs["train"] + jobs["train_latent"]
    assert int(re.search(r"trains (\d+) small runs", readme)[1]) == runs
    # every run of init, benchmark_models and objective saves its latent space
    assert jobs["train_latent"] == 4 * 5 * 2 + 4 * 2 + 2 * 2 * 2 == jobs["score_latent"]
    assert jobs["aggregate"] == jobs["figures"] == jobs["statistics"] == 6
    assert jobs["latent_scores"] == jobs["embedding"] == jobs["quality_figure"] == 3
    assert jobs["latent_baselines"] == 3 and jobs["make_synthetic"] == 1 == jobs["claims"]


def test_the_docs_count_the_papers(documented_dry_runs):
    out = console(documented_dry_runs, "--configfile", "config/paper.yaml", "--resources")
    # the paper config's own results folder: the demo's results/ is left alone
    runs = set(re.findall(r"results/paper/(\w+)/runs/(\S+)/metrics\.csv", out))
    per_study = {study: sum(1 for s, _ in runs if s == study) for study, _ in runs}
    assert per_study == {"init": 200, "init_zscore": 50, "init_deep": 50, "hparam": 360}
    # init and init_zscore save the latent means of all their 250 runs: they train as
    # train_latent.
    assert job_counts(out) == {
        "download_xena": 1, "download_phenotype": 1, "phenotype": 1, "preprocess": 2,
        "train": 50 + 360, "train_latent": 250, "score_latent": 250, "latent_baselines": 2,
        "aggregate": 4, "figures": 4, "statistics": 4, "latent_scores": 2, "embedding": 2,
        "quality_figure": 2, "claims": 1, "front_page": 1, "default": 1}
    # every init-methods and hyperparameter claim finds its study
    for study in per_study:
        assert f"results/paper/{study}/tables/claims.csv" in out
    stated = re.search(r"at most 100 epochs\): ([\d,]+) runs", flat("README.md"))[1]
    assert int(stated.replace(",", "")) == len(runs) == 660
    slurm = flat("profiles/slurm/README.md")
    assert f"The papers are {len(runs)} short training runs" in slurm
    assert f"reruns all {len(runs)} runs" in slurm


def bundles_planned(console_text: str) -> dict[str, list[dict]]:
    """{Slurm job (group): its jobs as {rule, run, runtime, input}} of a dry-run's console."""
    groups = {}
    for chunk in console_text.split("Group job ")[1:]:
        name = chunk.split(" (jobs", 1)[0]
        groups[name] = [
            {"rule": m[1], "input": m[2].split(", "), "run": m[3], "runtime": int(m[4])}
            for m in re.finditer(r"rule (\w+):\n\s+input: (.*)\n(?:.*\n)*?\s+wildcards: "
                                 r"study=\w+, run=(\S+)\n\s+resources: .*runtime=(\d+)", chunk)]
    return groups


@pytest.mark.parametrize("config", ["paper.yaml", "eltager2023.yaml"])
def test_every_slurm_job_of_the_big_configs_fits_and_scores_only_its_own_runs(
        documented_dry_runs, config):
    """The documented plans through profiles/slurm (the benchmark on its cut grid): every
    Slurm job asks for at most half of cluster.max_job_minutes (its retry twice that), and
    every scoring job in it scores a run trained in it, sharing untrained scores only with
    a run trained in it: no Slurm job waits for another's runs."""
    planned = {"paper.yaml": "paper.yaml", "eltager2023.yaml": "eltager2023_cut.yaml"}[config]
    out = console(documented_dry_runs, "profiles/slurm", planned)
    maximum = yaml.safe_load(read(f"config/{config}")).get("cluster", {}).get(
        "max_job_minutes", 1380)
    groups = bundles_planned(out)
    assert groups and maximum < 24 * 60
    for name, jobs in groups.items():
        assert 2 * sum(job["runtime"] for job in jobs) <= maximum, (name, jobs)
        trained = {job["run"] for job in jobs if job["rule"].startswith("train")}
        for job in jobs:
            if job["rule"] == "score_latent":
                sources = {re.search(r"/runs/(\S+)/\w+\.(?:npy|json)$", path)[1]
                           for path in job["input"] if "/runs/" in path}
                assert job["run"] in sources and sources <= trained, (name, job)
    bundled = re.findall(r"rule (?:train|train_latent|score_latent):", out)
    assert sum(len(jobs) for jobs in groups.values()) == len(bundled)
    if config == "paper.yaml":
        assert f"(the papers: {len(groups)} jobs)" in flat("README.md") and len(groups) == 26
        slurm = flat("profiles/slurm/README.md")
        assert f"through the profile plans {len(groups)} bundles" in slurm


def test_the_docs_count_the_benchmark(documented_dry_runs):
    """All 6,480 runs, as the Snakefile expands them (config.study_runs), each saving its latent
    space; the documented dry-run of its cut grid plans every rule. 360 distinct untrained
    encoders: lr and optimizer act in training only."""
    from vaebench.config import encoder_key, load_yaml, study_runs

    cfg = load_yaml(REPO / "config" / "eltager2023.yaml")
    runs = study_runs("benchmark", cfg["studies"]["benchmark"], cfg)
    assert len(runs) == 6 * 6 * 6 * 5 * 3 * 2 and cfg["studies"]["benchmark"]["save_latent"] == {}
    assert f"= {len(runs):,} runs" in flat("README.md")
    assert len({encoder_key(settings) for settings in runs.values()}) == 360
    n = 6 * 2 ** 5
    assert job_counts(console(documented_dry_runs, "eltager2023_cut.yaml")) == {
        "download_xena": 1, "download_phenotype": 1, "phenotype": 1, "preprocess": 1,
        "train_latent": n, "score_latent": n, "latent_baselines": 1,
        "aggregate": 1, "figures": 1, "statistics": 1, "latent_scores": 1, "embedding": 1,
        "quality_figure": 1, "claims": 1, "front_page": 1, "default": 1}


def schema() -> dict:
    return yaml.safe_load(read("workflow/schemas/config.schema.yaml"))


def property_names(node) -> set[str]:
    """Every key the schema defines, at any depth."""
    names = set()
    if isinstance(node, dict):
        names |= set(node.get("properties", {}))
        for value in node.values():
            names |= property_names(value)
    elif isinstance(node, list):
        for value in node:
            names |= property_names(value)
    return names


def test_the_axes_the_readme_lists_are_the_schemas():
    sentence = re.search(r"These run\s+settings can be axes: (.+?) \(the schema's `grid`\)",
                         read("README.md"), re.S)[1]
    listed = [a.strip() for a in re.split(r",|\band\b", " ".join(sentence.split())) if a.strip()]
    assert listed == list(schema()["$defs"]["study"]["properties"]["grid"]["properties"])


# keys whose children are names the user chooses: datasets, variants, studies, models
NAMED = {"datasets", "preprocess", "studies", "model_params", "by_model"}


def yaml_keys(node, parent=None):
    """Every key of a parsed YAML example but the user's own names."""
    if isinstance(node, dict):
        for key, value in node.items():
            if parent not in NAMED:
                yield key
            yield from yaml_keys(value, key)


def profile_keys() -> set[str]:
    """The Slurm and local profiles' keys, commented-out ones included."""
    return {key for profile in REPO.glob("profiles/*/config.yaml")
            for key in re.findall(r"^\s*#?\s*([a-z_-]+):", profile.read_text(), re.M)}


def test_every_config_key_the_docs_set_exists():
    """`key: value` in backticks, and the keys of the docs' YAML examples: each is a key the
    schema defines, or a profile's (the user's names for datasets, studies, … excepted)."""
    known = property_names(schema()) | profile_keys()
    unknown = []
    for doc in user_documents():
        text = doc.read_text()
        keys = [m[1].split(".")[-1] for m in re.finditer(
            r"`([a-z_][\w.]*): ([^`\s]+|\{[^`]*\}|\[[^`]*\])`", text)]
        for block in code_blocks(text, "yaml"):
            keys += list(yaml_keys(yaml.safe_load(block)))
        unknown += [f"{doc.relative_to(REPO)}: {k}" for k in dict.fromkeys(keys)
                    if k not in known]
    assert not unknown, "\n".join(unknown)


OUTPUT = r"\b([\w-]+\.(?:csv|json|npy|html|png|pdf|tsv|txt))\b"


def test_every_output_file_the_docs_name_is_written_by_the_workflow():
    written = "\n".join((REPO / p).read_text() for p in subprocess.run(
        ["git", "ls-files", "workflow", "Makefile"], cwd=REPO, capture_output=True, text=True,
        check=True).stdout.split() if (REPO / p).suffix in (".py", ".smk", "") or p.endswith(
        "Snakefile"))
    # the YAML examples name the user's input files
    names = {name for doc in ("README.md", "docs/analysis.md", "docs/decisions.md")
             for name in re.findall(OUTPUT, re.sub(r"```yaml\n.*?```", "", read(doc),
                                                   flags=re.S))}
    # the docs' own files (the front page's screenshot) are not outputs
    missing = sorted(n for n in names if n not in written and not (REPO / "docs" / n).is_file())
    assert names and not missing, missing


def documented_columns() -> dict[str, list[str]]:
    """docs/analysis.md: {table file: the columns its section lists}."""
    tables = {}
    for section in re.split(r"^### ", read("docs/analysis.md"), flags=re.M)[1:]:
        title, _, body = section.partition("\n")
        rows = [line.split("|")[1] for line in body.splitlines() if line.startswith("| `")]
        columns = [c for row in rows for c in re.findall(r"`([\w]+)`", row)]
        for name in re.findall(r"`(\w+\.csv)`", title):
            tables[name] = columns
    return tables


def test_every_table_column_is_documented_and_every_documented_one_exists(finished):
    """Against the tables of a real (tiny) run: its axes (model, init, seed, lr, …) excepted."""
    workdir, configfile = finished
    axes = set(schema()["$defs"]["study"]["properties"]["grid"]["properties"])
    documented = documented_columns()
    assert len(documented) >= 14
    wrong = []
    for name, columns in documented.items():
        folder = "claims" if name.startswith("claim") else "init/tables"
        path = workdir / "results" / folder / name
        produced = set(pd.read_csv(path, nrows=0).columns) - axes
        if produced != set(columns) - axes:
            wrong.append(f"{name}: undocumented {sorted(produced - set(columns))}, "
                         f"not produced {sorted(set(columns) - axes - produced)}")
    assert not wrong, "\n".join(wrong)


def test_the_kl_pressure_table_is_its_own_arithmetic():
    """docs/decisions.md: pressure = genes × batch / n_train, noise s.d. = sqrt(pressure / 2)."""
    rows = re.findall(r"^\| [^|]+ \| ([\d,]+) \| ([\d,]+) / ([\d,]+) \| ([\d.]+) \| ([\d.]+) \|$",
                      read("docs/decisions.md"), re.M)
    assert len(rows) == 4
    for genes, batch, n_train, pressure, sd in rows:
        g, b, n = (int(v.replace(",", "")) for v in (genes, batch, n_train))
        assert round(g * b / n) == float(pressure), (genes, batch, n_train)
        assert math.isclose(math.sqrt(float(pressure) / 2), float(sd), rel_tol=0.05)


# Slurm's own options: those of sbatch the Slurm README names for what the profile makes the
# plugin pass, and squeue's --me
SLURM = {"--gpus", "--gres", "--cpus-per-gpu", "--cpus-per-task", "--mem", "--ntasks", "--qos",
         "--me"}


def test_every_command_line_option_the_docs_name_exists():
    """`vaebench <command> --option` against that command's parser; any other `--option` in
    the user's docs against Snakemake's parser (its plugins' included), the benchmark scripts'
    and Slurm's."""
    from snakemake.cli import get_argument_parser

    from vaebench.cli import build_parser

    def options(parser):
        return {o for action in parser._actions for o in action.option_strings}

    commands = next(a for a in build_parser()._actions if a.choices and "synth" in a.choices)
    vaebench = {name: options(parser) for name, parser in commands.choices.items()}
    bench = {o for script in REPO.glob("bench/*.py")
             for o in re.findall(r"add_argument\(\s*\"(--[\w-]+)\"", script.read_text())}
    anything = options(get_argument_parser()) | SLURM | bench | set().union(*vaebench.values())
    unknown = []
    for doc in user_documents():
        text = doc.read_text()
        spans = re.findall(r"`([^`]+)`", re.sub(r"^```.*?^```", "", text, flags=re.M | re.S))
        lines = [line for block in code_blocks(text, "bash") for line in block.splitlines()]
        for span in spans + lines:
            span = " ".join(span.split())
            for command, rest in re.findall(r"\bvaebench (\w+)((?: [^&|;]*)?)", span):
                unknown += [f"{doc.relative_to(REPO)}: vaebench {command} {o}"
                            for o in re.findall(r"(?<!\S)(--[\w-]+)", rest)
                            if o not in vaebench.get(command, ())]
            unknown += [f"{doc.relative_to(REPO)}: {o}"
                        for o in re.findall(r"(?<!\S)(--[\w-]+)", span) if o not in anything]
    assert not unknown, "\n".join(unknown)


def examples_module():
    """docs/examples.py, which writes the docs' example blocks and their record."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("examples", REPO / "docs" / "examples.py")
    examples = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(examples)
    return examples


def test_the_examples_record_what_made_them():
    """docs/examples.json names the machine, the training code, the config and the package code
    the example blocks were made from, and a digest of each block: a block edited by hand, or
    left behind when the others were refreshed, fails here. Each block names its machine."""
    examples = examples_module()
    record = json.loads(read("docs/examples.json"))
    blocks = examples.blocks()
    assert sorted(k.split(": ", 1)[1] for k in blocks) == sorted(["vaebench summary",
                                                                  *examples.TABLES])
    assert record["blocks"] == {name: examples.digest(text) for name, text in blocks.items()}
    made = record["made_from"]
    machine = made["machine"]
    # one machine, one training code: the runs agree (a list would say they do not)
    assert all(isinstance(machine[key], str) and machine[key] != "not recorded"
               for key in ("cpu_model", "cpu_capability", "threads", "torch")), machine
    assert isinstance(made["training_code"], str) and len(made["config_sha256"]) == 16
    for name, text in blocks.items():
        assert text.endswith(examples.made_on(machine)), name


def summary_block_rows(text: str) -> tuple[list[str], dict[str, list[str]], re.Match]:
    """(the header's columns, {study: its row's cells}, the claims line) of the summary block."""
    lines = text.splitlines()
    header = lines.index(next(line for line in lines if line.startswith("study ")))
    rows = {}
    for line in lines[header + 1:]:
        if not line.strip():
            break
        rows[line.split()[0]] = line.split()[1:]
    claims = re.search(r"^Claims \((\d+), (\d+) papers\): (.+)$", text, re.M)
    return lines[header].split(), rows, claims


def test_the_examples_have_the_form_this_checkout_gives():
    """The blocks' form, whatever machine made their numbers: the summary's studies, their run
    counts and the claims as config/config.yaml plans them, and each table's header and rows
    (its conditions) as docs/examples.py writes them now."""
    from vaebench.claims.verdicts import VERDICTS
    from vaebench.cli import workflow_config
    from vaebench.config import display_name
    from vaebench.plan import Plan
    from vaebench.summary import STATUSES

    examples = examples_module()
    plan = Plan.of(workflow_config(REPO / "config" / "config.yaml"))
    blocks = {name.split(": ", 1)[1]: text for name, text in examples.blocks().items()}
    summary = blocks["vaebench summary"]
    assert summary.startswith("```text\nresults (config/config.yaml):\n")
    columns, rows, claims = summary_block_rows(summary)
    assert columns[:2] == ["study", "runs"] and columns[-1] == "collapsed"
    assert set(columns[2:-1]) <= set(STATUSES)
    assert list(rows) == list(plan.runs)
    for study, cells in rows.items():
        runs, counts = int(cells[0]), [int(c) for c in cells[1:-1]]
        assert runs == len(plan.runs[study]) == sum(counts), (study, cells)
        collapsed, judged = map(int, cells[-1].split("/"))
        assert collapsed <= judged <= counts[columns.index("ok") - 2], (study, cells)
    assert int(claims[1]) == len({m["claim"] for m in plan.matches})
    assert int(claims[2]) == len(plan.papers)
    counted = {verdict: int(n) for n, verdict in re.findall(r"(\d+) ([a-z ]+?)(?:,|$)", claims[3])}
    assert set(counted) <= set(VERDICTS) and sum(counted.values()) == int(claims[1])

    def table(key):
        lines = [line for line in blocks[key].splitlines() if line.startswith("| ")]
        return lines[0], [[c.strip() for c in line.split("|")[1:-1]] for line in lines[2:]]

    header, verdict_rows = table("table verdicts")
    assert header == examples.markdown([], examples.VERDICTS_HEADER).splitlines()[0]
    assert {row[0] for row in verdict_rows} <= set(VERDICTS)
    named = [c for row in verdict_rows for c in row[1].split(", ")]
    assert sorted(named) == sorted({m["claim"] for m in plan.matches})
    for study, by in examples.LATENT_TABLES.items():
        header, latent_rows = table(f"table {study}")
        assert header == examples.markdown([], examples.latent_header(by)).splitlines()[0]
        planned = {(display_name(settings["model"]),
                    *(str(settings.get("axes", {}).get(a)) for a in by[1:]))
                   for settings in plan.runs[study].values()}
        shown = {tuple(row[:len(by)]) for row in latent_rows}
        assert shown and shown <= planned, (study, shown - planned)


def test_the_examples_are_what_the_local_results_give():
    """Where `make run` made the default results here from the examples' own code, config and
    machine, each block is what its key gives on them. Results from another machine (the
    numbers depend on the CPU: docs/decisions.md, "Repeatability") or other code are not
    compared, and the test says why."""
    examples = examples_module()
    if not (REPO / "results" / "claims" / "claims.csv").is_file():
        pytest.skip("no default results here: `make run` makes them")
    recorded = json.loads(read("docs/examples.json"))["made_from"]
    other = examples.differences(recorded, examples.provenance())
    if other:
        pytest.skip("the docs' examples are not compared with these results, which differ in "
                    + "; ".join(other))
    stale = examples.stale_blocks(recorded["machine"])
    assert not stale, f"stale examples {stale}: run .venv/bin/python docs/examples.py"
