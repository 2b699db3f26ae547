; TypeScript references, read after ecmascript-references.scm: types are references too.

(type_identifier) @name.reference
(nested_type_identifier module: (identifier) @name.reference)
(type_query (identifier) @name.reference)
(import_require_clause (identifier) @name.reference)
