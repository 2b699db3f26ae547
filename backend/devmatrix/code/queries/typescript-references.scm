; TypeScript references, run over the whole tree (see javascript-references.scm). Types are
; references too; TSX adds its JSX tags in tsx-references.scm.

(primary_expression/identifier) @name.reference
(augmented_assignment_expression left: (identifier) @name.reference)
; Assigning never declares: the name is a variable declared elsewhere (maybe the module's).
(assignment_expression left: (identifier) @name.reference)
(shorthand_property_identifier) @name.reference
(this) @name.reference
(type_identifier) @name.reference
(nested_type_identifier module: (identifier) @name.reference)
(type_query (identifier) @name.reference)

(decorator (identifier) @name.reference)
(decorator (member_expression object: (identifier) @name.reference))
(decorator (call_expression function: (identifier) @name.reference))
(decorator (call_expression function: (member_expression object: (identifier) @name.reference)))

(import_clause (identifier) @name.reference)
(import_specifier name: (identifier) @name.reference)
(import_specifier alias: (identifier) @name.reference)
(namespace_import (identifier) @name.reference)
(import_require_clause (identifier) @name.reference)
(export_specifier name: (identifier) @name.reference)
(variable_declarator
  name: (identifier) @name.reference
  value: (call_expression function: (identifier) @_require)
  (#eq? @_require "require"))

(import_statement) @import
(variable_declarator
  value: (call_expression function: (identifier) @_require)
  (#eq? @_require "require")) @import
