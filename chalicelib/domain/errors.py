"""Domain errors.

* DomainError
  + InvalidObservation   a duration or event flag that cannot be measured
  + InsufficientData     too few observations for the requested statistic
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class for errors raised by the pure measurement code."""


class InvalidObservation(DomainError, ValueError):
    """A duration is negative or not a number, or an event flag is not a bool."""


class InsufficientData(DomainError):
    """Too few observations for the statistic that was asked for."""
