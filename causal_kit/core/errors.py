"""The one error hierarchy of causal_kit.

Every problem causal_kit detects in its inputs or its computations raises a subclass of
:class:`CausalKitError`. Messages name the column, unit, period or value at fault and say how
to fix it.
"""

from __future__ import annotations


class CausalKitError(Exception):
    """Base class of every error raised by causal_kit."""


class DataError(CausalKitError, ValueError):
    """The data cannot support the requested analysis (missing columns, bad values, shape)."""


class SpecificationError(CausalKitError, ValueError):
    """The call is inconsistent: unknown option, contradictory arguments, impossible design."""


class ConvergenceError(CausalKitError, RuntimeError):
    """A numerical routine failed to converge or produced a non-finite result."""


class ReportError(CausalKitError, RuntimeError):
    """A report could not be produced; nothing was written."""


class CausalKitWarning(UserWarning):
    """A documented, handled situation the user should know about (never a silent change)."""
