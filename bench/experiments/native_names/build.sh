#!/usr/bin/env bash
# Build the experiment's extension next to this script, against the tree-sitter core of the
# installed binding's own version (its sdist). Run from the repository: bench/experiments/native_names/build.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py="${PYTHON:-$here/../../../.venv/bin/python}"
version="$("$py" -c 'import importlib.metadata as m; print(m.version("tree-sitter"))')"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$py" -m pip download -q "tree-sitter==$version" --no-binary :all: --no-deps -d "$work"
tar xzf "$work"/tree_sitter-*.tar.gz -C "$work"
core="$(echo "$work"/tree_sitter-*/tree_sitter/core/lib)"
include="$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
suffix="$("$py" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')"
gcc -O3 -DNDEBUG -shared -fPIC -std=c11 -D_DEFAULT_SOURCE -I"$core/include" -I"$core/src" \
  -I"$include" "$here/names.c" "$core/src/lib.c" -o "$here/_names$suffix"
echo "built $here/_names$suffix against tree-sitter $version"
