; Python references, run over the whole tree. Captures:
;   name.reference   every name; `a.b.c` chains are rebuilt from adjacent names joined by "."
;   import           an import statement; its bindings come from python-imports.scm

(identifier) @name.reference
(import_statement) @import
(import_from_statement) @import
