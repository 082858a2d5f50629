"""Helpers for the course *Machine learning for marketing automation*.

One module per step of the method, plus :mod:`helpers.synth` (the synthetic world with its planted truth),
:mod:`helpers.io` (loading and validating a world, yours or ours), :mod:`helpers.run` (executing the course
with papermill and gathering its figures) and :mod:`helpers.paths` (where things live).
"""

import warnings

__version__ = "0.1.0"

# Warnings that depend on the state of a machine rather than on the data are silenced here, in one place, before
# any module imports the library that raises them. ArviZ 0.23 prints a FutureWarning about its refactor once a
# day, unless a date stamp in the user's cache folder says it was shown today: left alone, a notebook's output
# would depend on the date and on the cache.
warnings.filterwarnings("ignore", message=r"\s*ArviZ is undergoing a major refactor", category=FutureWarning)
