; JavaScript references, run over the whole tree (see python-references.scm).

(identifier) @name.reference
(this) @name.reference
(import_statement) @import
(variable_declarator
  value: (call_expression function: (identifier) @_require)
  (#eq? @_require "require")) @import
