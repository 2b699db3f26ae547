; Python import bindings, matched on one import statement at a time. One binding per match:
;   import.module    dotted module as written (leading dots = relative to the importing package)
;   import.name      a name taken from the module (`from m import name`)
;   import.alias     the local name when `as` is used
;   import.wildcard  `from m import *`

(import_statement name: (dotted_name) @import.module)
(import_statement
  name: (aliased_import name: (dotted_name) @import.module alias: (identifier) @import.alias))
(import_from_statement module_name: (_) @import.module name: (dotted_name) @import.name)
(import_from_statement
  module_name: (_) @import.module
  name: (aliased_import name: (dotted_name) @import.name alias: (identifier) @import.alias))
(import_from_statement module_name: (_) @import.module (wildcard_import) @import.wildcard)
