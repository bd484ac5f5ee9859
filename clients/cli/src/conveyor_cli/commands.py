"""The contract between the ``conveyor`` parser and its command group modules."""

import argparse
from collections.abc import Callable
from typing import Protocol, TypeAlias

# argparse exposes no public name for the object add_subparsers() returns.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

# What a subcommand runs: parsed arguments in, exit status out.
Handler: TypeAlias = Callable[[argparse.Namespace], int]


class CommandGroup(Protocol):
    """A module that adds its subcommands, each setting ``handler`` as a parser default."""

    def register(self, subparsers: Subparsers) -> None: ...
