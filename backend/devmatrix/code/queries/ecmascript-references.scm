; JavaScript and TypeScript references (the layer both read; JSX tags are in jsx-references.scm,
; types in typescript-references.scm), run over the whole tree. Captures:
;   name.reference   a name read as a value (an identifier in expression position) or assigned,
;                    or named by an import, an export list or require(); `a.b` chains are rebuilt
;                    from the text after the head (see python-references.scm)
;   import           an import statement or a require() declaration (bindings: *-imports.scm)
;
; Names that only bind (parameters, declared variables, loop targets, class and function names)
; are left out: they are not uses of a module's symbol of the same name.

(primary_expression/identifier) @name.reference
(augmented_assignment_expression left: (identifier) @name.reference)
; Assigning never declares: the name is a variable declared elsewhere (maybe the module's).
(assignment_expression left: (identifier) @name.reference)
; So does destructuring into existing variables (`[a, ...b] = pair`, `({ a, k: b = 1 } = o)`),
; and a for-in/of loop without `const`/`let`/`var`. Targets nested in a pattern inside the
; pattern (`[[a]] = x`) are not followed.
; One pattern per form: with an alternation, the query engine keeps only one of two targets in
; the same pattern (`[a, ...b]`).
(assignment_expression left: (array_pattern (identifier) @name.reference))
(assignment_expression
  left: (array_pattern (assignment_pattern left: (identifier) @name.reference)))
(assignment_expression left: (array_pattern (rest_pattern (identifier) @name.reference)))
(assignment_expression
  left: (object_pattern (shorthand_property_identifier_pattern) @name.reference))
(assignment_expression
  left: (object_pattern
    (object_assignment_pattern left: (shorthand_property_identifier_pattern) @name.reference)))
(assignment_expression
  left: (object_pattern (pair_pattern value: (identifier) @name.reference)))
(assignment_expression
  left: (object_pattern
    (pair_pattern value: (assignment_pattern left: (identifier) @name.reference))))
(assignment_expression left: (object_pattern (rest_pattern (identifier) @name.reference)))
(for_in_statement !kind left: (identifier) @name.reference)
(shorthand_property_identifier) @name.reference
(this) @name.reference

; A decorator's name is not an expression position in the grammar.
(decorator (identifier) @name.reference)
(decorator (member_expression object: (identifier) @name.reference))
(decorator (call_expression function: (identifier) @name.reference))
(decorator (call_expression function: (member_expression object: (identifier) @name.reference)))

(import_clause (identifier) @name.reference)
(import_specifier name: (identifier) @name.reference)
(import_specifier alias: (identifier) @name.reference)
(namespace_import (identifier) @name.reference)
(export_specifier name: (identifier) @name.reference)
(variable_declarator
  name: (identifier) @name.reference
  value: (call_expression function: (identifier) @_require)
  (#eq? @_require "require"))

(import_statement) @import
(variable_declarator
  value: (call_expression function: (identifier) @_require)
  (#eq? @_require "require")) @import
