import sys

from vaebench.job import logged

with logged(snakemake):
    from vaebench.config import RunConfig
    from vaebench.data import load_preprocessed
    from vaebench.slots import placed
    from vaebench.train import EpochReport, run

    run_name = f"studies.{snakemake.wildcards.study} run {snakemake.wildcards.run}"
    # train_latent (a run the study's save_latent selects) has latent outputs; train has two.
    latent = snakemake.output.get("latent")
    cfg = RunConfig.from_dict({**snakemake.params.run, "threads": snakemake.threads,
                               "save_latent": latent is not None}, source=run_name)
    data = load_preprocessed(snakemake.input.matrix, snakemake.input.genes,
                             snakemake.input.samples, snakemake.input.summary)
    # stdout is the job's log, written a line at a time: `tail -f` on it shows each epoch.
    progress = EpochReport(cfg.epochs, sys.stdout, early_stopping=cfg.early_stopping)
    # Which GPU: a slot among the K runs each GPU takes (the rule's runs_per_gpu resource).
    with placed(cfg.device, snakemake.resources.get("runs_per_gpu", 1)) as gpu_slot:
        record = run(cfg, data, snakemake.output.metrics, snakemake.output.record, latent,
                     progress, gpu_slot)
    print(f"{run_name}: {record['status']} ({record['stop_reason']})")
