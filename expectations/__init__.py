"""Great Expectations suites as code, one module per stage: ``raw``, ``staging``, ``marts``.

Each module exposes ``build_suites(as_of_date, run_id=None) -> list[SuiteSpec]``; the runner
(``customer360.quality.run_checkpoint``) loads the module by path from ``Settings.expectations_dir`` and turns
the specs into GX suites. See README.md in this folder.
"""
