"""dllmagic._record.Record: what a frozen record does, and its ``__init__`` made on first use."""
from __future__ import annotations

import pickle

import pytest

from dllmagic._record import GENERIC_CALLS, FrozenRecordError, Record, field, fields


class Point(Record):
    x: int
    y: int = 0
    tags: tuple = field(default_factory=tuple)
    note: object = field(default=None, compare=False, repr=False)


class Point3(Point):
    z: int = 0


def test_a_record_is_made_from_positional_or_keyword_fields_with_defaults():
    p = Point(1)
    assert (p.x, p.y, p.tags, p.note) == (1, 0, (), None)
    assert Point(1, 2, ("a",), "n") == Point(x=1, y=2, tags=("a",), note="other")   # note is not compared
    assert Point(1) != Point(2) and hash(Point(1, 2)) == hash(Point(1, 2))
    assert repr(Point(1, 2)) == "Point(x=1, y=2, tags=())"
    assert fields(Point3) == ("x", "y", "tags", "note", "z") and Point3(1, z=5).z == 5
    assert Point(1) != Point3(1)                       # records of another class are never equal
    assert Point(1, 2).replace(y=3) == Point(1, 3)


def test_a_record_is_frozen_and_its_arguments_are_checked():
    p = Point(1)
    with pytest.raises(FrozenRecordError):
        p.x = 2
    with pytest.raises(FrozenRecordError):
        del p.x
    with pytest.raises(TypeError):
        Point()                                        # x is required
    with pytest.raises(TypeError):
        Point(1, 2, (), None, "too many")
    with pytest.raises(TypeError):
        Point(1, x=2)
    with pytest.raises(TypeError):
        Point(1, w=2)


def test_a_field_without_a_default_after_one_with_a_default_fails_when_the_class_is_made():
    with pytest.raises(TypeError, match="without a default follows one with a default"):
        class Bad(Record):
            a: int = 0
            b: int


def test_the_init_is_made_after_the_first_calls_and_then_used_directly():
    class Lazy(Record):
        a: int
        b: str = "b"

    deferred = Lazy.__dict__["__init__"]
    assert deferred.__qualname__.endswith("Lazy.__init__")
    served = [Lazy(i) if i % 2 else Lazy(a=i, b="b") for i in range(GENERIC_CALLS)]
    assert Lazy.__dict__["__init__"] is deferred       # served field by field: nothing compiled yet
    assert [(p.a, p.b) for p in served] == [(i, "b") for i in range(GENERIC_CALLS)]
    assert Lazy(1) == Lazy(a=1, b="b")
    made = Lazy.__dict__["__init__"]
    assert made is not deferred and Lazy(2).a == 2 and Lazy.__dict__["__init__"] is made
    deferred(Lazy.__new__(Lazy), 3)                    # a reference kept to the first one still works
    assert Lazy.__dict__["__init__"] is made

    class Listed(Record):
        items: list = field(default_factory=list)

    assert Listed().items is not Listed().items        # a factory's value is made anew, field by field too


@pytest.mark.parametrize("call", [
    ((1,), {}), ((1, 2), {}), ((1,), {"note": "n"}), ((), {"x": 1, "tags": ("t",)}), ((1, 2, ("a",), 4), {}),
    ((), {}), ((1, 2, (), None, "too many"), {}), ((1,), {"x": 2}), ((1,), {"w": 2}), ((), {"y": 2}),
])
def test_the_first_calls_do_what_the_compiled_init_does(call):
    """Before and after the compiled ``__init__``: the same fields in the same order, or a TypeError both ways."""
    args, kwargs = call

    def made(cls):
        try:
            p = cls(*args, **kwargs)
        except TypeError:
            return TypeError
        return list(p.__dict__.items())

    class Fresh(Point):                                # a new class: its first calls are served field by field
        pass

    first = made(Fresh)
    for _ in range(GENERIC_CALLS + 1):
        Fresh(0)
    assert Fresh.__dict__["__init__"].__code__.co_name == "__init__" and "_rec_d_" in Fresh.__init__.__code__.co_varnames
    assert first == made(Fresh)


def test_records_pickle_and_round_trip():
    p = Point3(1, 2, ("t",), None, 3)
    assert pickle.loads(pickle.dumps(p)) == p
