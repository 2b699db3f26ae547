"""The atom of code read from disk: one top-level symbol, method or block of module statements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AtomKind = Literal["function", "method", "class", "test", "type", "constants", "imports"]


@dataclass(frozen=True, slots=True)
class ImportBinding:
    """A local name bound by an import; `symbol` is None when the name is the module itself.

    `module` is as written: dotted (`pkg.mod`, `..pkg` relative) or, when `is_path`, a path
    specifier (`./util`) relative to the importing file. `symbol == "*"` imports every name.
    """

    local: str
    module: str
    symbol: str | None = None
    is_path: bool = False


@dataclass(frozen=True, slots=True)
class CodeAtom:
    """One unit of code: a function, method, class, test or block of module-level statements.

    `id` is `file::qualified_name`, stable while the symbol keeps its name. Ranges come from the
    parse: bytes are 0-based half-open, lines 1-based inclusive. A class atom spans its methods,
    which are atoms of their own. `references` are names as written (`helper`, `mod.func`), not
    resolved; `self.x` inside a method is written `Class.x`.
    """

    id: str
    file: str
    qualified_name: str
    kind: AtomKind
    start_byte: int
    end_byte: int
    start_line: int
    end_line: int
    signature: str = ""
    defines: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    imports: tuple[ImportBinding, ...] = ()

    @property
    def name(self) -> str:
        """The last part of the qualified name (`method` of `Class.method`)."""
        return self.qualified_name.rpartition(".")[2]

    @property
    def line_range(self) -> tuple[int, int]:
        """First and last line, 1-based inclusive."""
        return (self.start_line, self.end_line)


def atom_id(file: str, qualified_name: str) -> str:
    """The stable id of the atom defining `qualified_name` in `file`."""
    return f"{file}::{qualified_name}"
