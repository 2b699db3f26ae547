"""What a native names pass would save: the atomizer's Python names pass against names.c.

Run: bench/experiments/native_names/build.sh, then
.venv/bin/python bench/experiments/native_names/compare.py [--rounds N]

Per stdlib file, both passes run on a fresh parse of the same source, in alternating order, and
only the names pass is timed: the references query and the Python or C work on its captures (the
Python side also reads the import bindings, which the C side skips: the saving is an upper bound).
The parse is timed too, so the saving reads as a share of the raw parse (P). An experiment: the
product does not use names.c.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import sysconfig
import time
from array import array
from pathlib import Path
from typing import Any

from tree_sitter import Tree

from devmatrix.code import extract
from devmatrix.code.atomizer import gc_paused, source_files
from devmatrix.code.languages import compiled, language_for, parser_for

# Built by build.sh next to this file; it has no stubs.
sys.path.insert(0, str(Path(__file__).parent))
_names: Any = importlib.import_module("_names")


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--rounds", type=int, default=2)
    rounds = options.parse_args().rounds
    root = Path(sysconfig.get_paths()["stdlib"])
    sources = [path.read_bytes() for path, _ in source_files(root, [])]
    spec = language_for("x.py")
    assert spec is not None
    lang, parser = compiled(spec), parser_for(spec)
    capture_names = [lang.references.capture_name(i) for i in range(lang.references.capture_count)]
    name_id = capture_names.index("name.reference")

    def python_pass(
        tree: Tree, source: bytes, count: int, starts: list[int], owners: list[int]
    ) -> list[set[str]]:
        text = source.decode("ascii") if source.isascii() else None
        names, _ = extract._references(lang, tree.root_node, source, text, count, starts, owners)
        return names

    def native_pass(
        tree: Tree, source: bytes, count: int, starts: list[int], owners: list[int]
    ) -> list[set[str]]:
        owner_at: array[int] = extract._owner_map(len(source), starts, owners)
        names: list[set[str]] = [set() for _ in range(count)]
        _names.collect(tree, lang.references, source, owner_at, names, name_id)
        return names

    passes = {"python": python_pass, "native": native_pass}
    figures = []
    with gc_paused():
        for _ in range(rounds):
            seconds = dict.fromkeys(passes, 0.0)
            parse_s, differing = 0.0, 0
            for number, source in enumerate(sources):
                tree = parser.parse(source)
                structure = extract._structure(lang, tree.root_node)
                drafts = extract._definitions(structure, source, lang.tests)
                atoms = extract._with_blocks(drafts, structure)
                starts, owners = extract._segments(atoms)
                del tree, structure
                found = {}
                order = list(passes) if number % 2 else list(reversed(passes))
                for name in order:
                    start = time.process_time()
                    tree = parser.parse(source)
                    parsed = time.process_time()
                    found[name] = passes[name](tree, source, len(atoms), starts, owners)
                    del tree
                    parse_s += parsed - start
                    seconds[name] += time.process_time() - parsed
                differing += found["python"] != found["native"]
            parse_s /= len(passes)
            saved = seconds["python"] - seconds["native"]
            figures.append(
                {
                    "cpu_parse_s": round(parse_s, 2),
                    "python_names_s": round(seconds["python"], 2),
                    "native_names_s": round(seconds["native"], 2),
                    "saved_s": round(saved, 2),
                    "saved_share_of_parse": round(saved / parse_s, 3),
                    "files_differing": differing,
                }
            )
    print(json.dumps({"files": len(sources), "rounds": figures}, indent=2))


if __name__ == "__main__":
    main()
