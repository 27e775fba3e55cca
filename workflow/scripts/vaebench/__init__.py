"""vaebench: how sensitive are VAEs to initialisation and hyperparameters on gene expression.

Rooms: data/ (formats, synthetic data, preprocessing, splits, files; no torch), models/ (the
VAEs), inits (weight initialisations), train (one run), analysis and plots (from aggregated tables),
cli (the `vaebench` command), job (the frame of every workflow script: log, failure on console).
"""

__version__ = "0.1.0"
