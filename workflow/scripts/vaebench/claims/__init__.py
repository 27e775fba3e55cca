"""The papers' claims as data, tested on the runs: a claim file in, verdicts out. No torch.

Rooms: spec (reading and checking a claim file: its keys, metrics and levels), match (which
study of a config each claim applies to), runs (the runs table a claim is tested on: the
workflow's runs.csv with its latent scores, or one of your own), exact (exact rank tests, their
floors, and the samples a test needs), tests (the registry: each test once, with its keys,
function, effect measure and floor), verdicts (parts to a verdict: Holm, the readings of
diverged and collapsed runs, minimum effects, seeds), report (the tables, the page, the lines
of `vaebench summary`). Nothing is imported here, so that reading a claim file (at the
Snakefile's parse) loads no more than it needs.
"""
