"""Atomize + graph the machine's Python standard library against a raw tree-sitter parse.

Run: .venv/bin/python bench/atomize.py [--json]. Target: atomize + graph <= 2.0x raw parse.
`digest` fingerprints every atom (ranges, defines, references, imports) and every edge, so a
change that makes it faster can be checked to do the same work: counts and digest must not move
(`--expect-digest` fails the run when they do). `cpu_parse_and_queries_ratio` is the parse plus
the atomizer's tree-sitter query passes alone, timed after the rest: what is left of the 2.0x for
the Python work on the captures and the graph.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import sysconfig
import time
from pathlib import Path

from tree_sitter import QueryCursor

from devmatrix.code.atomizer import AtomCache, atomize_path, source_files
from devmatrix.code.atoms import CodeAtom
from devmatrix.code.languages import STRUCTURE_DEPTH, compiled, language_for, parser_for
from devmatrix.graph import DependencyGraph, build_graph


def raw_parse_seconds(root: Path, files: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of tree-sitter's parse alone over the same files (read beforehand)."""
    sources = [(root / f).read_bytes() for f in files]
    spec = language_for("x.py")
    assert spec is not None
    parser = parser_for(spec)
    wall, cpu = time.perf_counter(), time.process_time()
    for source in sources:
        parser.parse(source)
    return time.perf_counter() - wall, time.process_time() - cpu


def query_passes_seconds(root: Path, files: list[str]) -> float:
    """CPU seconds of the parse plus the atomizer's three query passes, with no Python work on
    the captures: the share of atomize + graph that tree-sitter itself costs."""
    sources = [(root / f).read_bytes() for f in files]
    spec = language_for("x.py")
    assert spec is not None
    parser, lang = parser_for(spec), compiled(spec)
    cpu = time.process_time()
    for source in sources:
        tree = parser.parse(source)
        for query, depth in ((lang.structure, STRUCTURE_DEPTH), (lang.statements, 0)):
            cursor = QueryCursor(query)
            cursor.set_max_start_depth(depth)
            cursor.captures(tree.root_node)
        QueryCursor(lang.references).captures(tree.root_node)
    return time.process_time() - cpu


def digest(atoms: tuple[CodeAtom, ...], graph: DependencyGraph) -> str:
    """A short hash of every atom's fields and every edge, in their (deterministic) order."""
    hasher = hashlib.sha256()
    for atom in atoms:
        hasher.update(repr(atom).encode())
    for edge in graph.edges:
        hasher.update(f"{edge.source}>{edge.target}\n".encode())
    hasher.update(repr(graph.waves()).encode())
    return hasher.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--expect-digest",
        metavar="DIGEST",
        help="exit 1 unless the atoms and edges hash to DIGEST (same work as a known run)",
    )
    args = parser.parse_args()
    root = Path(sysconfig.get_paths()["stdlib"])
    files = [path.relative_to(root).as_posix() for path, _ in source_files(root, [])]
    # The machine is shared: parse before and after, and compare with the mean of the two.
    parse_before = raw_parse_seconds(root, files)
    cache = AtomCache()
    wall, cpu = time.perf_counter(), time.process_time()
    result = atomize_path(root, cache=cache)
    atomize_s, atomize_cpu = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    graph = build_graph(result.atoms)
    # What the figures report is part of the timed work, lazy or not.
    counts = len(graph.edges), len(graph.cycles), len(graph.unit_waves)
    graph_s, graph_cpu = time.perf_counter() - wall, time.process_time() - cpu
    parse_after = raw_parse_seconds(root, files)
    parse_s = (parse_before[0] + parse_after[0]) / 2
    parse_cpu = (parse_before[1] + parse_after[1]) / 2
    start = time.perf_counter()
    atomize_path(root, cache=cache)
    cached_s = time.perf_counter() - start
    passes_cpu = query_passes_seconds(root, files)
    total = atomize_s + graph_s
    figures = {
        "root": str(root),
        "files": result.files,
        "lines": result.lines,
        "atoms": len(result.atoms),
        "edges": counts[0],
        "cycles": counts[1],
        "waves": counts[2],
        "digest": digest(result.atoms, graph),
        "raw_parse_s": round(parse_s, 2),
        "raw_parse_runs_s": [round(parse_before[0], 2), round(parse_after[0], 2)],
        "atomize_s": round(atomize_s, 2),
        "graph_s": round(graph_s, 2),
        "ratio_vs_parse": round(total / parse_s, 2),
        "target_ratio": 2.0,
        # CPU seconds of this process: less moved by other work on the machine.
        "cpu_raw_parse_s": round(parse_cpu, 2),
        "cpu_atomize_s": round(atomize_cpu, 2),
        "cpu_graph_s": round(graph_cpu, 2),
        "cpu_ratio_vs_parse": round((atomize_cpu + graph_cpu) / parse_cpu, 2),
        # Not a target: parse + the atomizer's query passes alone, before any Python work.
        "cpu_parse_and_queries_s": round(passes_cpu, 2),
        "cpu_parse_and_queries_ratio": round(passes_cpu / parse_cpu, 2),
        "files_per_s": round(result.files / total, 1),
        "lines_per_s": round(result.lines / total),
        "cached_rerun_s": round(cached_s, 2),
        "cache_hits": cache.hits,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    if args.expect_digest:
        figures["digest_matches"] = figures["digest"] == args.expect_digest
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:>16}: {value}")
    if figures.get("digest_matches") is False:
        raise SystemExit(f"digest {figures['digest']} != expected {args.expect_digest}")


if __name__ == "__main__":
    main()
