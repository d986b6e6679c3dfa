"""Developer tooling for customer360, kept out of the production image.

- ``datagen``: synthetic landing files for every channel with their ground truth (``customer360 generate``,
  and the demo data ``make run`` generates into an empty landing folder);
- ``bench``: wall time and peak memory of every stage against a committed baseline (``make bench``);
- ``identity_synthetic``: synthetic identity-stage input records with a known truth
  (``customer360 identity bench``);
- ``identity_eval``: identity scored on the generator, FEBRL and an adversarial set (``make eval``).

A development install (a checkout and ``make setup``) imports it beside ``customer360``; the production
package never imports it at module level (``customer360.dev_tools``).
"""
