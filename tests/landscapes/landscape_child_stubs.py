"""Stand-ins for the derivation, run in the derivation's child process by the tests.

They live in their own importable module because the child is not a fork of the test
process: it imports its target and arguments by name.
"""

import os
import time

import sympy as sp


def derive_forever(expression):
    time.sleep(60)


def die_without_answering(expression):
    os._exit(3)


def fail(expression):
    raise RuntimeError("boom")


def parent_process_id(expression):
    """The id of the child's parent: the forkserver's, not the caller's."""
    return (sp.Integer(os.getppid()),)
