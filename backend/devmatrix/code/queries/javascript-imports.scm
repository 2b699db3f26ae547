; JavaScript import bindings, matched on one import statement or require() call at a time.
;   import.path      module specifier as written ("./x" is relative to the importing file)
;   import.name / import.alias / import.wildcard as in python-imports.scm

(import_statement (import_clause (identifier) @import.alias) source: (string (string_fragment) @import.path))
(import_statement
  (import_clause (named_imports (import_specifier name: (identifier) @import.name !alias)))
  source: (string (string_fragment) @import.path))
(import_statement
  (import_clause (named_imports (import_specifier name: (identifier) @import.name alias: (identifier) @import.alias)))
  source: (string (string_fragment) @import.path))
(import_statement
  (import_clause (namespace_import (identifier) @import.alias))
  source: (string (string_fragment) @import.path))

(variable_declarator
  name: (identifier) @import.alias
  value: (call_expression
    function: (identifier) @_require
    arguments: (arguments (string (string_fragment) @import.path)))
  (#eq? @_require "require"))
(variable_declarator
  name: (object_pattern (shorthand_property_identifier_pattern) @import.name)
  value: (call_expression
    function: (identifier) @_require
    arguments: (arguments (string (string_fragment) @import.path)))
  (#eq? @_require "require"))
