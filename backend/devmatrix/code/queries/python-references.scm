; Python references, run over the whole tree. Captures:
;   name.reference   a name read as a value, declared `global`, or bound by an import; `a.b.c`
;                    chains are rebuilt from the text after the head (members are never captured)
;   import           an import statement; its bindings come from python-imports.scm
;
; Names that only bind (parameters, assignment and loop targets, keyword argument names) are
; not references; a function assigns a module's name only after `global`, which is one.
; Matching identifiers in expression position (the `primary_expression` supertype) leaves the
; binding names out, along with attribute members, and halves the captures.

(primary_expression/identifier) @name.reference
(augmented_assignment left: (identifier) @name.reference)
(global_statement (identifier) @name.reference)
; The head of a dotted name (the chain is read from the text) where it names something: an
; imported module or name, a class or a value in a `case` pattern. Not inside a relative import's
; module (`from .mod import x` does not use a name `mod`), nor in `from __future__ import`.
(import_statement name: (dotted_name . (identifier) @name.reference))
(aliased_import name: (dotted_name . (identifier) @name.reference))
(import_from_statement module_name: (dotted_name . (identifier) @name.reference))
(import_from_statement name: (dotted_name . (identifier) @name.reference))
(class_pattern (dotted_name . (identifier) @name.reference))
(dict_pattern key: (dotted_name . (identifier) @name.reference))
; In a case, a bare name binds (`case x:`, `case P(a=x)`); only a dotted one is a value.
(case_pattern (dotted_name . (identifier) @name.reference (identifier)))
(keyword_pattern (dotted_name . (identifier) @name.reference (identifier)))
(union_pattern (dotted_name . (identifier) @name.reference (identifier)))
(aliased_import alias: (identifier) @name.reference)
(import_statement) @import
(import_from_statement) @import
