"""Signatures compared by structure, not text: parameter names, order, kinds, defaults, annotations.

Both the planned signature and the generated one are parsed with tree-sitter and reduced to a
`Signature`; whitespace, quotes and a trailing comma never make two signatures differ.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from devmatrix.code.languages import language_for, parser_for

_DEFINITIONS = ("function_definition", "class_definition")


@dataclass(frozen=True)
class Parameter:
    """One parameter; `kind` is plain, *args, **kwargs, or a `*` / `/` separator."""

    kind: str
    name: str
    annotation: str | None = None
    default: str | None = None

    def render(self) -> str:
        """The parameter as it would be written."""
        prefix = {"*args": "*", "**kwargs": "**"}.get(self.kind, "")
        if self.kind in ("*", "/"):
            return self.kind
        text = f"{prefix}{self.name}"
        if self.annotation is not None:
            text += f": {self.annotation}"
        if self.default is not None:
            text += f" = {self.default}" if self.annotation else f"={self.default}"
        return text


@dataclass(frozen=True)
class Signature:
    """A definition's header: kind (def / class), async or not, parameters (or bases), return type."""

    kind: str
    name: str
    is_async: bool
    parameters: tuple[Parameter, ...]
    returns: str | None

    def render(self) -> str:
        """The header as it would be written (canonical spacing)."""
        params = ", ".join(p.render() for p in self.parameters)
        if self.kind == "class":
            return f"class {self.name}({params})" if params else f"class {self.name}"
        head = f"{'async ' if self.is_async else ''}def {self.name}({params})"
        return f"{head} -> {self.returns}" if self.returns else head


def _canonical(node: Node | None) -> str | None:
    """Tokens of an expression joined by single spaces; string literals in one quoting style."""
    if node is None:
        return None
    if node.type == "string":
        content = "".join(
            (c.text or b"").decode() for c in node.children if c.type == "string_content"
        )
        return repr(content)
    if node.child_count == 0:
        return (node.text or b"").decode()
    text = ""
    for part in (_canonical(child) for child in node.children):
        if not part:
            continue
        # A space only where tokens would otherwise merge, after commas and around `|`.
        if text and (
            ((text[-1].isalnum() or text[-1] == "_") and (part[0].isalnum() or part[0] == "_"))
            or text.endswith((",", "|", ":"))
            or part == "|"
        ):
            text += " "
        text += part
    return text


def _parameter(node: Node) -> Parameter | None:
    name_node = node.child_by_field_name("name")
    if node.type == "identifier":
        return Parameter("plain", (node.text or b"").decode())
    if node.type in ("list_splat_pattern", "dictionary_splat_pattern"):
        kind = "*args" if node.type == "list_splat_pattern" else "**kwargs"
        ident = next((c for c in node.children if c.type == "identifier"), None)
        return Parameter(kind, _canonical(ident) or "")
    if node.type == "keyword_separator":
        return Parameter("*", "")
    if node.type == "positional_separator":
        return Parameter("/", "")
    if node.type == "typed_parameter":
        inner = node.children[0]
        base = _parameter(inner) or Parameter("plain", _canonical(inner) or "")
        return Parameter(base.kind, base.name, _canonical(node.child_by_field_name("type")))
    if node.type in ("default_parameter", "typed_default_parameter"):
        return Parameter(
            "plain",
            _canonical(name_node) or "",
            _canonical(node.child_by_field_name("type")),
            _canonical(node.child_by_field_name("value")),
        )
    return None  # punctuation and comments


def _definition(node: Node) -> Node | None:
    for child in node.children:
        if child.type in _DEFINITIONS:
            return child
        if child.type == "decorated_definition":
            return child.child_by_field_name("definition")
    return None


def _header_source(text: str, name: str, kind: str) -> str:
    head = text.strip().rstrip(":").strip()
    if head.startswith("@"):  # a decorated header parses as is; decorators are not compared
        return f"{head}:\n    ...\n"
    if kind == "class":
        if not head.startswith("class "):
            head = f"class {name}{head}" if head.startswith("(") or not head else f"class {head}"
    elif not head.startswith(("def ", "async def ")):
        head = f"def {name}{head}" if head.startswith("(") else f"def {head}"
    return f"{head}:\n    ...\n"


def parse_signature(text: str, *, name: str, kind: str, path: str = "x.py") -> Signature | None:
    """Parse a header such as `def add(a: int, b: int = 0) -> int`, `(a, b)` or `class Store(Base)`.

    `kind` is the atom kind (class, function, method, test); returns None when it does not parse.
    """
    spec = language_for(path)
    if spec is None:
        return None
    source = _header_source(text, name, "class" if kind == "class" else "function")
    tree = parser_for(spec).parse(source.encode())
    node = _definition(tree.root_node)
    if tree.root_node.has_error or node is None:
        return None
    if node.type == "class_definition":
        bases = node.child_by_field_name("superclasses")
        params = tuple(
            Parameter("base", _canonical(c) or "") for c in (bases.named_children if bases else [])
        )
        return Signature(
            "class", _canonical(node.child_by_field_name("name")) or "", False, params, None
        )
    params_node = node.child_by_field_name("parameters")
    params = tuple(
        p for c in (params_node.named_children if params_node else []) if (p := _parameter(c))
    )
    return Signature(
        kind="def",
        name=_canonical(node.child_by_field_name("name")) or "",
        is_async=any(c.type == "async" for c in node.children),
        parameters=params,
        returns=_canonical(node.child_by_field_name("return_type")),
    )


def signature_differences(
    planned: Signature, actual: Signature, *, compare_async: bool
) -> list[str]:
    """What differs between the planned and the generated header, one sentence each (empty: same)."""
    diffs: list[str] = []
    if planned.name != actual.name:
        diffs.append(f"the name is `{actual.name}`, the plan says `{planned.name}`")
    if compare_async and planned.is_async != actual.is_async:
        diffs.append(
            "it must be `async def`" if planned.is_async else "it must be a plain `def`, not async"
        )
    what = "bases" if planned.kind == "class" else "parameters"
    if [p.name for p in planned.parameters] != [p.name for p in actual.parameters]:
        diffs.append(f"the {what} are ({_names(actual)}), the plan says ({_names(planned)})")
    else:
        for want, got in zip(planned.parameters, actual.parameters, strict=True):
            if want != got:
                diffs.append(f"parameter `{got.render()}` should be `{want.render()}`")
    if planned.returns is not None and planned.returns != actual.returns:
        diffs.append(
            f"the return annotation is `{actual.returns}`, the plan says `{planned.returns}`"
        )
    return diffs


def _names(sig: Signature) -> str:
    return ", ".join(p.render().split(":")[0].split("=")[0].strip() for p in sig.parameters)
