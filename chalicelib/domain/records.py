"""Frozen, slotted record classes that import without the ``dataclasses`` module and without compiling code.

``@dataclass`` builds every method it generates (``__init__``, ``__repr__``, ``__eq__``, ``__hash__``, and for
frozen classes ``__setattr__``/``__delattr__``) with ``exec`` when its module is imported, and importing
``dataclasses`` pulls in ``inspect`` (with ``ast``, ``dis``, ``tokenize``): together about 7 ms of a cold Lambda,
for types every request touches. A class decorated with :func:`record` writes its ``__init__`` out in the class
body and takes every other method from :class:`Record`, which behave exactly as the generated ones
(tests/unit/test_models_prebuilt.py checks each class against a generated twin). To the ``dataclasses``
functions it is still a frozen, slotted dataclass (``fields``, ``replace``, ``asdict``, ``is_dataclass``,
``FrozenInstanceError``): the ``__dataclass_fields__`` and ``__dataclass_params__`` they read are built, with
``dataclasses`` itself, the first time something asks for them.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar

T = TypeVar("T", bound=type)
R = TypeVar("R", bound="Record")

#: What a frozen dataclass's ``__init__`` uses to fill its instance.
set_field = object.__setattr__


class _Factory:
    """The default of a field built by a factory (``dataclasses`` shows the same ``<factory>``)."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any] | None = None) -> None:
        self.make = make

    def __repr__(self) -> str:
        return "<factory>"


#: Default of an ``__init__`` argument whose field has a ``default_factory``: build the default when it is seen.
FACTORY: Any = _Factory()


def factory(make: Callable[[], Any]) -> Any:
    """A field default built by ``make`` per instance: ``dataclasses.field(default_factory=make)`` for a record."""
    return _Factory(make)


def _frozen(name: str) -> Exception:
    from dataclasses import FrozenInstanceError  # only on this error path: see the module docstring

    return FrozenInstanceError(f"cannot assign to field {name!r}")


class _DataclassInfo:
    """``__dataclass_fields__`` / ``__dataclass_params__`` of a record, described by ``dataclasses`` on first use.

    The description is stored on the record class in place of this descriptor, so it is built once per class.
    """

    def __init__(self, attribute: str) -> None:
        self.attribute = attribute

    def __get__(self, instance: object, owner: type) -> Any:
        if "_names" not in owner.__dict__:
            raise AttributeError(self.attribute)  # Record itself, or a subclass not built by @record
        _describe(owner)
        return owner.__dict__[self.attribute]


def _describe(cls: type) -> None:
    import dataclasses

    namespace: dict[str, Any] = {
        "__annotations__": dict(cls._types),  # type: ignore[attr-defined]
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__ or cls.__name__,
    }
    for name, default in cls._defaults.items():  # type: ignore[attr-defined]
        namespace[name] = dataclasses.field(default_factory=default.make) if isinstance(default, _Factory) else default
    shadow = dataclasses.dataclass(frozen=True, init=False, repr=False, eq=False)(type(cls.__name__, (), namespace))
    type.__setattr__(cls, "__dataclass_fields__", shadow.__dataclass_fields__)  # type: ignore[attr-defined]
    type.__setattr__(cls, "__dataclass_params__", shadow.__dataclass_params__)  # type: ignore[attr-defined]


class Record:
    """What ``@dataclass(frozen=True, slots=True)`` generates besides ``__init__``, shared by every record class.

    Equality and hash compare the fields' values in order, through one C-level getter per class.
    """

    __slots__ = ()
    _names: tuple[str, ...]
    _values: Callable[[Any], tuple[Any, ...]]

    __dataclass_fields__ = _DataclassInfo("__dataclass_fields__")
    __dataclass_params__ = _DataclassInfo("__dataclass_params__")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._values(self) == self._values(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values(self))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._names)
        return f"{self.__class__.__qualname__}({shown})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise _frozen(name)

    def __delattr__(self, name: str) -> None:
        raise _frozen(name)

    def __getstate__(self) -> list[Any]:
        return [getattr(self, name) for name in self._names]

    def __setstate__(self, state: list[Any]) -> None:
        for name, value in zip(self._names, state, strict=False):
            set_field(self, name, value)


def record(cls: T) -> T:
    """``@dataclass(frozen=True, slots=True)`` for a :class:`Record` subclass that writes its own ``__init__``.

    Like ``dataclasses`` with ``slots=True``, this returns a new class: the fields become slots, so their
    defaults (kept for ``dataclasses.fields``) leave the class body.
    """
    if any("_names" in vars(base) for base in cls.__mro__[1:]):
        raise TypeError(f"{cls.__name__}: a record cannot extend another record")
    annotations: dict[str, Any] = cls.__dict__.get("__annotations__", {})
    names = tuple(n for n, t in annotations.items() if not str(t).startswith(("ClassVar", "typing.ClassVar")))
    body = dict(cls.__dict__)
    for name in ("__dict__", "__weakref__", *names):
        body.pop(name, None)
    body.update(
        __slots__=names,
        __match_args__=names,
        _names=names,
        _types=tuple((n, annotations[n]) for n in names),
        _defaults={n: cls.__dict__[n] for n in names if n in cls.__dict__},
        _values=staticmethod(attrgetter(*names) if len(names) > 1 else lambda obj: (getattr(obj, names[0]),)),
    )
    made = type(cls)(cls.__name__, cls.__bases__, body)
    made.__qualname__ = cls.__qualname__
    return made  # type: ignore[return-value]


def replace(obj: R, /, **changes: Any) -> R:
    """``dataclasses.replace`` for a record, without importing ``dataclasses``: a copy with ``changes`` applied."""
    for name in obj._names:
        if name not in changes:
            changes[name] = getattr(obj, name)
    return obj.__class__(**changes)
