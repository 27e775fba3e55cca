# One job per run: results/{study}/runs/<axis>=<value>/.../metrics.csv + run.json.
# The run's resolved settings arrive as `params.run`, so editing one config value reruns exactly
# the runs it changes; `params.code` is a checksum of the training modules (common.smk), so
# editing the model or training code reruns training.


rule train:
    input:
        unpack(train_data),
    output:
        metrics=LAYOUT.run("{study}", "{run}", "metrics.csv"),
        record=LAYOUT.run("{study}", "{run}", "run.json"),
    log:
        LAYOUT.log("train", "{study}/{run}"),
    benchmark:
        LAYOUT.benchmark("train", "{study}/{run}")
    group:
        bundle
    conda:
        train_env
    threads: 1
    # What a run needs anywhere; a site's profile adds its partition, constraint and CPUs per
    # GPU (profiles/site). 16 GB: a paper run on TCGA peaks at 1 GB on the CPU (bench/README.md,
    # "Memory of one training run at the papers' shape"); the CUDA libraries add a few GB of
    # host memory.
    resources:
        gpu=1,
        runs_per_gpu=1,
        mem_mb=memory_per_attempt(16000),
        # Slurm asks for no disk; Snakemake's default would look at each input to size it, for
        # each of the benchmark's 6,480 runs (bench/README.md, "Cluster jobs")
        disk_mb=1000,
        bundle_slot=1,  # common.smk
        runtime=bundle_minutes("train"),
    params:
        code=TRAINING_CODE,
        run=run_settings,
    script:
        "../scripts/train.py"


# The runs a study's `save_latent` selects also keep their encoder means of all samples, after
# training and as initialised (the untrained-encoder baseline; run writes it beside latent.npy).
use rule train as train_latent with:
    output:
        metrics=LAYOUT.run("{study}", "{run}", "metrics.csv"),
        record=LAYOUT.run("{study}", "{run}", "run.json"),
        latent=LAYOUT.run("{study}", "{run}", "latent.npy"),
        untrained=LAYOUT.run("{study}", "{run}", "latent_untrained.npy"),
    wildcard_constraints:
        study=latent_study_pattern(),


ruleorder: train_latent > train
