"""The ``customer360`` command.

Subcommands are registered by the area that owns them (``<area>/commands.py`` exposes ``register``);
this module only wires them together, so ``customer360 --help`` stays fast (no heavy imports here).
The development commands (``generate``, ``bench``) come from the ``customer360_dev`` package; in an install
without it (the production image) they are still listed, and say how to get them.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from customer360 import __version__
from customer360.dev_tools import DEV_PACKAGE, dev_only_message

# Areas whose commands.py registers subcommands, in the order --help lists them.
COMMAND_MODULES = (
    "customer360.run_command",
    "customer360.landing.contract_doc",
    "customer360_dev.datagen.commands",
    "customer360.ingest.commands",
    "customer360.identity.commands",
    "customer360.quality.commands",
    "customer360.clv.commands",
    "customer360.churn.commands",
    "customer360.analyst.commands",
    "customer360.metrics.commands",
    "customer360.report.commands",
    "customer360.privacy.commands",
    "customer360.activation.commands",
    "customer360_dev.bench.commands",
    "customer360_dev.identity_eval.commands",
)
# The commands of the development modules above, for an install without customer360_dev: name, help.
DEV_COMMANDS = {
    "customer360_dev.datagen.commands": ("generate", "write synthetic landing files (development install)"),
    "customer360_dev.bench.commands": ("bench", "benchmark every stage (development install)"),
}

# Commands that write the warehouse (``module:function`` of their handler) hold the home's run lock
# (customer360.run_lock) while they run; ``customer360 run`` takes it itself, to pass it to its DAG run.
WAREHOUSE_WRITERS = {
    "customer360.run_command:run_stage": "customer360 stage",
    "customer360.ingest.commands:run": "customer360 ingest",
    "customer360.identity.commands:run_resolve": "customer360 identity resolve",
    "customer360.privacy.commands:erase_command": "customer360 erase",
    "customer360.privacy.commands:erase_queue_command": "customer360 privacy erase-queue",
    "customer360.activation.commands:activate_command": "customer360 activate",
}


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
            if exc.name == DEV_PACKAGE and module_name in DEV_COMMANDS:
                _register_missing_dev_command(subparsers, *DEV_COMMANDS[module_name])
                continue
            if exc.name and module_name.startswith(exc.name):
                continue  # an area that has no commands yet
            raise
        module.register(subparsers)
    return parser


def _register_missing_dev_command(subparsers: argparse._SubParsersAction, name: str, help_text: str) -> None:
    """``name`` without its code: whatever its arguments, it says it is a development command and exits 2."""
    message = dev_only_message(f"`customer360 {name}`")

    def refuse(args: argparse.Namespace) -> int:
        print(message, file=sys.stderr)
        return 2

    parser = subparsers.add_parser(name, help=help_text, description=message)
    parser.set_defaults(func=refuse, accepts_any_arguments=True)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "accepts_any_arguments", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    writer = WAREHOUSE_WRITERS.get(f"{args.func.__module__}:{args.func.__qualname__}")
    try:
        if writer is None:
            return int(args.func(args) or 0)
        from customer360.run_lock import EXIT_LOCKED, RunLockedError, run_lock
        from customer360.settings import get_settings

        day = getattr(args, "date", None) or getattr(args, "as_of_date", None)
        try:
            # The command's name only: its arguments may be personal data (erase --email ...), and the lock
            # file keeps the last holder's record.
            with run_lock(get_settings(), writer, day, argv=writer.split()):
                return int(args.func(args) or 0)
        except RunLockedError as exc:
            print(f"{writer}: {exc}", file=sys.stderr)
            return EXIT_LOCKED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
