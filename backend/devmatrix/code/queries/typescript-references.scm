; TypeScript references, read after ecmascript-references.scm: types are references too.
; A qualified type (`ns.Type`, `a.b.Type`) or `typeof a.b` gives the head of its chain, the rest
; being read from the text; the type's own name after a dot is a member (see extract.py).

(type_identifier) @name.reference
(nested_type_identifier module: (identifier) @name.reference)
(nested_type_identifier module: (nested_identifier object: (identifier) @name.reference))
(nested_type_identifier
  module: (nested_identifier object: (member_expression object: (identifier) @name.reference)))
(type_query (identifier) @name.reference)
(type_query (member_expression object: (identifier) @name.reference))
(type_query (member_expression object: (member_expression object: (identifier) @name.reference)))
(import_require_clause (identifier) @name.reference)
