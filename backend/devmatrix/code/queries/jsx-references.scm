; JSX tags are references (JavaScript and TSX read this after ecmascript-references.scm).

(jsx_opening_element name: (identifier) @name.reference)
(jsx_opening_element name: (member_expression object: (identifier) @name.reference))
(jsx_self_closing_element name: (identifier) @name.reference)
(jsx_self_closing_element name: (member_expression object: (identifier) @name.reference))
