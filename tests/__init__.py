"""customer360's tests: a package, so that test modules import their shared helpers from ``tests.support``."""
