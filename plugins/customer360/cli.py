"""The ``customer360`` command.

Subcommands are registered by the area that owns them (``<area>/commands.py`` exposes ``register``);
this module only wires them together, so ``customer360 --help`` stays fast (no heavy imports here).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from customer360 import __version__

# Areas whose commands.py registers subcommands, in the order --help lists them.
COMMAND_MODULES = (
    "customer360.run_command",
    "customer360.landing.contract_doc",
    "customer360.datagen.commands",
    "customer360.ingest.commands",
    "customer360.identity.commands",
    "customer360.quality.commands",
    "customer360.clv.commands",
    "customer360.churn.commands",
    "customer360.analyst.commands",
    "customer360.report.commands",
    "customer360.privacy.commands",
    "customer360.bench.commands",
    # developer tooling: present in the development install only (plugins/customer360_dev)
    "customer360_dev.identity_eval.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="customer360",
        description="customer360: one trusted picture of each customer, every day (IDIC).",
    )
    parser.add_argument("--version", action="version", version=f"customer360 {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # an area that has no commands yet
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
