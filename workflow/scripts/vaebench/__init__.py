"""vaebench: how sensitive are VAEs to initialisation and hyperparameters on gene expression.

Rooms: config (one run's settings, a config's studies), plan (from a config, what the workflow
will do: runs, saved latent spaces, shared encoders, claims), data/ (formats, synthetic data,
preprocessing, splits, files; no torch), models/ (the VAEs), inits (weight initialisations),
train (one run), optim (the optimizer steps), private_torch (torch's private fast paths, each
with a public fallback), slots (which GPU a job uses), analysis/ and plots (from aggregated
tables), claims/ (the papers' claims: spec, match, runs, exact, tests, verdicts, report), code
(checksums of the package's code), summary and workdir (a working directory's state), cli (the
`vaebench` command), job (the frame of every workflow script: log, failure on console).
"""

__version__ = "0.1.0"
