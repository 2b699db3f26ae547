; JavaScript program level, run with a cursor that starts matches at the root only. Same capture
; names as python-statements.scm.

((program) @language (#set! receivers "this"))

(program (lexical_declaration (variable_declarator name: (identifier) @name.definition.constant)))
(program (variable_declaration (variable_declarator name: (identifier) @name.definition.constant)))
(program (export_statement (lexical_declaration (variable_declarator name: (identifier) @name.definition.constant))))

(program (_) @statement)
(program (import_statement) @statement.import)
(program (comment) @statement.skip)
