"""Hypothesis profiles for every test directory (nothing else lives here).

`make test` must not depend on a local `.hypothesis` database: a saved failing example made
later runs fail on one machine and pass on another. So no profile stores examples, and the
default one, "ci", is derandomized: every run on every machine draws the same examples, a
failure reproduces with the same command, and hypothesis prints `@reproduce_failure` blobs.
No deadline: these machines are shared, and a busy moment is not a failure (speed is what
`bench/` measures).
To explore new examples, run with ``--hypothesis-profile=explore`` (random draws; add
``--hypothesis-seed=N`` to repeat one exploration).
"""

from hypothesis import settings

settings.register_profile("ci", database=None, derandomize=True, print_blob=True, deadline=None)
settings.register_profile("explore", database=None, derandomize=False, print_blob=True, deadline=None)
settings.load_profile("ci")
