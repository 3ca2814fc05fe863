"""Frozen records, made cheaply: the ``dataclass(frozen=True)`` this package needs on its hot paths.

The native engine's records (:class:`~dllmagic.facts.native.binary.Binary`, the loader's tree nodes,
:class:`~dllmagic.facts.system.System`) were frozen dataclasses. Importing ``dataclasses`` (which
imports ``inspect``, ``ast``, ``dis`` and ``tokenize``) and generating six methods per class cost about
25 ms of every ``dlldoctor deps`` start: a tenth of a whole-environment run. The report's model and the
other frozen records of a report's path followed: ~1 ms each to make, 36 of them, paid by the first
failure of a kernel session. A :class:`Record` gets its
fields from its annotations, in order, its bases' first (as a dataclass does), one generated
``__init__``, and shares everything else.

    class Point(Record):
        x: int
        y: int = 0
        tag: object = field(default=None, compare=False, repr=False)

What a record does: keyword or positional ``__init__`` in field order; ``==`` and ``hash`` over the
compared fields of records of the same class; a ``repr`` of the shown fields; no assignment after
``__init__`` (:class:`FrozenRecordError`); :meth:`Record.replace`. Instances keep a ``__dict__``, so
``functools.cached_property`` works on them. A class's ``__init__`` is made when it is first called.
"""
from __future__ import annotations

__all__ = ["Record", "MutableRecord", "field", "fields", "replace", "FrozenRecordError"]

_MISSING = object()


class FrozenRecordError(AttributeError):
    """Assignment to a field of a frozen record."""


class _Field:
    __slots__ = ("default", "factory", "compare", "repr")

    def __init__(self, default, factory, compare: bool, repr: bool) -> None:
        self.default, self.factory, self.compare, self.repr = default, factory, compare, repr


def field(default=_MISSING, *, default_factory=None, compare: bool = True, repr: bool = True):
    """A field's options, as the class attribute of an annotated name (like ``dataclasses.field``)."""
    return _Field(default, default_factory, compare, repr)


class Record:
    """Base of a frozen record; subclasses declare fields as annotated class attributes."""

    _fields: tuple = ()
    _compared: tuple = ()
    _shown: tuple = ()
    _options: dict = {}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        options = dict(cls._options)          # name -> _Field, the bases' fields first
        for name, annotation in cls.__dict__.get("__annotations__", {}).items():
            if isinstance(annotation, str) and annotation.startswith(("ClassVar", "typing.ClassVar")):
                continue
            value = cls.__dict__.get(name, _MISSING)
            if isinstance(value, _Field):
                option = value
            else:
                option = _Field(value, None, True, True)
            options.pop(name, None)
            options[name] = option
            if option.default is _MISSING:
                if name in cls.__dict__:
                    delattr(cls, name)
            else:
                setattr(cls, name, option.default)
        cls._options = options
        cls._fields = tuple(options)
        cls._compared = tuple(n for n, o in options.items() if o.compare)
        cls._shown = tuple(n for n, o in options.items() if o.repr)
        _check_order(cls, options)
        cls.__init__ = _deferred_init(cls, options)

    def __setattr__(self, name, value):
        raise FrozenRecordError(f"cannot assign to field {name!r} of a frozen {type(self).__name__}")

    def __delattr__(self, name):
        raise FrozenRecordError(f"cannot delete field {name!r} of a frozen {type(self).__name__}")

    def _key(self) -> tuple:
        d = self.__dict__
        return tuple(d[n] for n in self._compared)

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return self._key() == other._key()
        return NotImplemented

    def __hash__(self):
        return hash(self._key())

    def __repr__(self) -> str:
        d = self.__dict__
        return f"{type(self).__qualname__}({', '.join(f'{n}={d[n]!r}' for n in self._shown)})"

    def replace(self, **changes):
        """A copy with ``changes`` (like ``dataclasses.replace``)."""
        d = self.__dict__
        return self.__class__(**{n: changes.pop(n) if n in changes else d[n] for n in self._fields}, **changes)



def fields(record_or_class) -> tuple:
    """The field names of a record (or record class), in order."""
    return record_or_class._fields


def replace(record, **changes):
    return record.replace(**changes)


def _check_order(cls, options: dict) -> None:
    """A field without a default after one with a default is an error when the class is made (as for a
    dataclass), not when it is first used."""
    defaulted = None
    for name, option in options.items():
        if option.default is not _MISSING or option.factory is not None:
            defaulted = name
        elif defaulted is not None:
            raise TypeError(f"{cls.__name__}: field {name!r} without a default follows one with a default")


#: Calls of a record class's ``__init__`` served field by field before one is compiled for it.
GENERIC_CALLS = 16


def _deferred_init(cls, options: dict):
    """The class's ``__init__`` until it has been called :data:`GENERIC_CALLS` times: it reads the arguments
    field by field (:func:`_generic_init`); then it makes the real one (:func:`_make_init`) and puts it in the
    class. Making one compiles a function (~0.2-0.5 ms): a kernel's first report instantiates 25 record classes,
    most of them a few times, and defines 20 more it never instantiates."""
    calls = [0]

    def __init__(self, *args, **kwargs):
        init = cls.__dict__.get("__init__")
        if init is __init__:
            if calls[0] < GENERIC_CALLS:
                calls[0] += 1
                _generic_init(cls, options, self, args, kwargs)
                return
            init = _make_init(cls, options)
            setattr(cls, "__init__", init)
        init(self, *args, **kwargs)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


def _generic_init(cls, options: dict, self, args: tuple, kwargs: dict) -> None:
    """What the ``__init__`` of :func:`_make_init` does with ``args`` and ``kwargs``, without compiling it:
    each field from its argument, else its default or factory, stored in field order; the same TypeErrors."""
    names = cls._fields
    where = f"{cls.__qualname__}.__init__()"
    if len(args) > len(names):
        raise TypeError(f"{where} takes {len(names) + 1} positional arguments but {len(args) + 1} were given")
    for name in kwargs:
        if name not in options:
            raise TypeError(f"{where} got an unexpected keyword argument {name!r}")
    d = self.__dict__
    missing = []
    for i, name in enumerate(names):
        if i < len(args):
            if name in kwargs:
                raise TypeError(f"{where} got multiple values for argument {name!r}")
            d[name] = args[i]
        elif name in kwargs:
            d[name] = kwargs[name]
        else:
            option = options[name]
            if option.factory is not None:
                d[name] = option.factory()
            elif option.default is not _MISSING:
                d[name] = option.default
            else:
                missing.append(name)
    if missing:
        raise TypeError(f"{where} missing {len(missing)} required argument{'s' if len(missing) > 1 else ''}: "
                        + ", ".join(repr(n) for n in missing))


def _make_init(cls, options: dict):
    """``__init__(self, a, b=<default>, ...)`` that stores each field, made once per class."""
    params, body, scope = [], [], {"_MISSING": _MISSING}
    for i, (name, option) in enumerate(options.items()):
        if option.factory is not None:
            scope[f"_f{i}"] = option.factory
            params.append(f"{name}=_MISSING")
            body.append(f"  _rec_d_[{name!r}] = _f{i}() if {name} is _MISSING else {name}")
            continue
        if option.default is not _MISSING:
            scope[f"_d{i}"] = option.default
            params.append(f"{name}=_d{i}")
        else:
            params.append(name)
        body.append(f"  _rec_d_[{name!r}] = {name}")
    source = f"def __init__(self, {', '.join(params)}):\n  _rec_d_ = self.__dict__\n" + "\n".join(body)
    exec(source, scope)  # noqa: S102 - the source is built from the class's own field names
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


class MutableRecord(Record):
    """A record whose fields may be set after ``__init__``: the plain ``@dataclass`` (``==`` over the compared
    fields of records of the same class, unhashable, a ``repr`` of the shown fields) without the ~1 ms of
    generated methods a dataclass costs when its class is made (a kernel's first report made five)."""

    __setattr__ = object.__setattr__
    __delattr__ = object.__delattr__
    __hash__ = None  # type: ignore[assignment]  (mutable and compared by value, as a dataclass with eq)
