; TSX: TypeScript's references (typescript-references.scm, read first) and its JSX tags.

(jsx_opening_element name: (identifier) @name.reference)
(jsx_opening_element name: (member_expression object: (identifier) @name.reference))
(jsx_self_closing_element name: (identifier) @name.reference)
(jsx_self_closing_element name: (member_expression object: (identifier) @name.reference))
