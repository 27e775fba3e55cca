# One job per run: results/{study}/runs/<axis>=<value>/.../metrics.csv + run.json.
# The run's resolved settings arrive as `params.run`, so editing one config value reruns exactly
# the runs it changes; `params.code` is a checksum of the training modules (common.smk), so
# editing the model or training code reruns training.


rule train:
    input:
        unpack(train_data),
    output:
        metrics="results/{study}/runs/{run}/metrics.csv",
        record="results/{study}/runs/{run}/run.json",
    log:
        "logs/train/{study}/{run}.log",
    benchmark:
        "benchmarks/train/{study}/{run}.tsv"
    conda:
        train_env
    threads: 1
    resources:
        gpu=1,
        runs_per_gpu=1,
        mem_mb=8000,
        runtime=60,
    params:
        code=TRAINING_CODE,
        run=run_settings,
    script:
        "../scripts/train.py"


# The runs a study's `save_latent` selects also keep their encoder means of all samples, after
# training and as initialised (the untrained-encoder baseline; run writes it beside latent.npy).
use rule train as train_latent with:
    output:
        metrics="results/{study}/runs/{run}/metrics.csv",
        record="results/{study}/runs/{run}/run.json",
        latent="results/{study}/runs/{run}/latent.npy",
        untrained="results/{study}/runs/{run}/latent_untrained.npy",
    wildcard_constraints:
        study=latent_study_pattern(),


ruleorder: train_latent > train
