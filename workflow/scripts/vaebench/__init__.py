"""vaebench: how sensitive are VAEs to initialisation and hyperparameters on gene expression.

Rooms: data (Xena I/O, preprocessing, splits, synthetic data; no torch), models (the four VAEs),
inits (weight initialisations), train (one run), analysis and plots (from aggregated tables),
cli (the `vaebench` command), job (the frame of every workflow script: log, failure on console).
"""

__version__ = "0.1.0"
