"""Frozen, slotted record classes that import without compiling code.

``@dataclass`` builds every method it generates (``__init__``, ``__repr__``, ``__eq__``, ``__hash__``,
``__setattr__``…) with ``exec`` when its module is imported; for the record types on every request's path that
cost a cold Lambda about 5 ms. A class decorated with :func:`record` is still a frozen, slotted dataclass
(``fields``, ``replace``, ``asdict``, pickling and ``FrozenInstanceError`` are dataclasses' own), but writes its
``__init__`` out in the class body and takes ``__repr__``, ``__eq__`` and ``__hash__`` from :class:`Record`,
which behave exactly as the generated ones (tests/unit/test_models_prebuilt.py checks each class against a
generated twin).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, TypeVar

T = TypeVar("T", bound=type)

#: What a frozen dataclass's ``__init__`` uses to fill its instance.
set_field = object.__setattr__


class Record:
    """Equality, hash and repr as ``@dataclass`` generates them, from one C-level getter of all fields per class."""

    __slots__ = ()
    _values: Callable[[Any], tuple[Any, ...]]

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._values(self) == self._values(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values(self))

    def __repr__(self) -> str:
        fields = self.__dataclass_fields__  # type: ignore[attr-defined]
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in fields)
        return f"{self.__class__.__qualname__}({shown})"


def record(cls: T) -> T:
    """``@dataclass(frozen=True, slots=True)`` for a :class:`Record` subclass that writes its own ``__init__``."""
    made = dataclass(frozen=True, slots=True, init=False, repr=False, eq=False)(cls)
    names = tuple(made.__dataclass_fields__)
    getter = attrgetter(*names) if len(names) > 1 else (lambda obj: (getattr(obj, names[0]),))
    made._values = staticmethod(getter)
    return made


class _Factory:
    """The default of a field built by a factory (``dataclasses`` shows the same ``<factory>``)."""

    def __repr__(self) -> str:
        return "<factory>"


#: Default of an ``__init__`` argument whose field has a ``default_factory``: build the default when it is seen.
FACTORY: Any = _Factory()
