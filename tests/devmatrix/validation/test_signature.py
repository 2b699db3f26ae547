"""Signatures are compared by structure: spacing, quotes and trailing commas never matter."""

from __future__ import annotations

import pytest

from devmatrix.validation.signature import parse_signature, signature_differences


def _sig(text: str, kind: str = "function"):
    sig = parse_signature(text, name="f", kind=kind)
    assert sig is not None, text
    return sig


def test_layout_does_not_matter() -> None:
    planned = _sig(
        "def f(a: int, b: 'str' = \"x\", *args, c: list[int] | None = None, **kw) -> dict[str, int]"
    )
    written = _sig("def f(a:int,b:\"str\"='x',*args,c:list[ int ]|None=None,**kw,)->dict[str,int]:")
    assert signature_differences(planned, written, compare_async=True) == []
    assert (
        planned.render()
        == "def f(a: int, b: 'str' = 'x', *args, c: list[int] | None = None, **kw) -> dict[str, int]"
    )


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("def f(b: int, a: int = 0) -> int", "the parameters are (b, a), the plan says (a, b)"),
        ("def f(a: int, b: int = 1) -> int", "parameter `b: int = 1` should be `b: int = 0`"),
        ("def f(a: str, b: int = 0) -> int", "parameter `a: str` should be `a: int`"),
        ("def f(a: int, b: int = 0) -> str", "the return annotation is `str`, the plan says `int`"),
        ("async def f(a: int, b: int = 0) -> int", "it must be a plain `def`, not async"),
        (
            "def f(a: int, *, b: int = 0) -> int",
            "the parameters are (a, *, b), the plan says (a, b)",
        ),
    ],
)
def test_each_difference_is_named(written: str, expected: str) -> None:
    planned = _sig("def f(a: int, b: int = 0) -> int")
    assert signature_differences(planned, _sig(written), compare_async=True) == [expected]


def test_short_forms_and_classes() -> None:
    assert _sig("(a, b=2)").render() == "def f(a, b=2)"
    assert _sig("f(a, b=2) -> None").render() == "def f(a, b=2) -> None"
    planned = _sig("class f(Base, metaclass=Meta)", kind="class")
    assert signature_differences(planned, _sig("class f(Base)", kind="class"), compare_async=False)
    assert parse_signature("def f(a, b", name="f", kind="function") is None


def test_decorators_are_not_part_of_the_signature() -> None:
    decorated = _sig('@app.get(\n    "/items",\n)\n@cache\ndef f(a: int, b: int = 0) -> int')
    assert (
        signature_differences(
            _sig("def f(a: int, b: int = 0) -> int"), decorated, compare_async=True
        )
        == []
    )
