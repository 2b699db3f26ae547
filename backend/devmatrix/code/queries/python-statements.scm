; Python module level, run with a cursor that starts matches at the root only. Captures:
;   name.definition.constant                    a name bound by assignment at module level
;   statement / statement.import / statement.skip   top-level statements; skip = comments, docstring
;   language (#set! receivers ...)              words that mean "this object" inside a method
;   language (#set! tests ...)                  a function whose name matches this regex is a test
;
; Tests are told apart by a setting rather than `#match?` predicates: a predicate is checked in
; Python on every function of every file, and was about 40% of the definitions pass.

((module) @language (#set! receivers "self cls") (#set! tests "^test"))

(module (expression_statement (assignment left: (identifier) @name.definition.constant)))
(module (expression_statement (assignment left: (pattern_list (identifier) @name.definition.constant))))
(module (if_statement (block (expression_statement (assignment left: (identifier) @name.definition.constant)))))
(module (try_statement (block (expression_statement (assignment left: (identifier) @name.definition.constant)))))

(module (_) @statement)
(module [(import_statement) (import_from_statement) (future_import_statement)] @statement.import)
(module (comment) @statement.skip)
(module . (expression_statement (string)) @statement.skip)
