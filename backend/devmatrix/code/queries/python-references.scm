; Python references, run over the whole tree. Captures:
;   name.reference   a name read as a value, declared `global`, or bound by an import; `a.b.c`
;                    chains are rebuilt from the text after the head (members are not captured)
;   import           an import statement; its bindings come from python-imports.scm
;
; Names that only bind (parameters, assignment and loop targets, keyword argument names) are
; not references; a function assigns a module's name only after `global`, which is one.
; Matching identifiers in expression position (the `primary_expression` supertype) leaves the
; binding names out, along with attribute members, and halves the captures.

(primary_expression/identifier) @name.reference
(augmented_assignment left: (identifier) @name.reference)
(global_statement (identifier) @name.reference)
(dotted_name (identifier) @name.reference)
(aliased_import alias: (identifier) @name.reference)
(import_statement) @import
(import_from_statement) @import
