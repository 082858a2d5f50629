"""Helpers for the course *Machine learning for marketing automation*.

One module per step of the method, plus :mod:`helpers.synth` (the synthetic world with its planted truth),
:mod:`helpers.io` (loading and validating a world, yours or ours), :mod:`helpers.run` (executing the course
with papermill and gathering its figures) and :mod:`helpers.paths` (where things live).
"""

__version__ = "0.1.0"
