; JavaScript definitions, run with a shallow cursor. Same capture names as python.scm; what
; sits at program level is matched by javascript-statements.scm.

(function_declaration name: (identifier) @name.definition.function body: (_) @body)
  @definition.function
(generator_function_declaration name: (identifier) @name.definition.function body: (_) @body)
  @definition.function
(class_declaration name: (identifier) @name.definition.class body: (_) @body) @definition.class
(method_definition name: (property_identifier) @name.definition.function body: (_) @body)
  @definition.function

; `const f = () => ...` and `const f = function () {...}` are functions; the declaration is the atom.
(lexical_declaration
  (variable_declarator
    name: (identifier) @name.definition.function
    value: [(arrow_function body: (_) @body) (function_expression body: (_) @body)]))
  @definition.function

; An exported definition spans the `export` keyword; the inner node is then dropped as a duplicate.
(export_statement declaration: (function_declaration name: (identifier) @name.definition.function))
  @definition.function
(export_statement declaration: (class_declaration name: (identifier) @name.definition.class))
  @definition.class
(export_statement
  declaration: (lexical_declaration
    (variable_declarator
      name: (identifier) @name.definition.function
      value: [(arrow_function) (function_expression)]))) @definition.function

(field_definition property: (property_identifier) @name.definition.constant)
