"""customer360_dev: developer-only tooling for customer360 (evaluation sets, generators, benchmarks).

Nothing in the ``customer360`` package imports it at module level: the production install has no
``customer360_dev`` and the commands that need it say so.
"""
