; Python structure, run with a shallow cursor (see devmatrix/code/languages.py: STRUCTURE_DEPTH).
; Capture names are the contract read by devmatrix/code/extract.py:
;   definition.<kind> + name.definition.<kind>   a definition (function, class) and its name
;   body                                        body of a definition; the signature is the text before it
;   name.definition.constant                    a name bound by assignment at module or class level
;   statement / statement.import / statement.skip   top-level statements; skip = comments, docstring
;   language (#set! receivers ...)              words that mean "this object" inside a method
;   language (#set! tests ...)                  a function whose name matches this regex is a test
;
; Tests are told apart by a setting rather than `#match?` predicates: a predicate is checked in
; Python on every function of every file, and was about 40% of this pass.

((module) @language (#set! receivers "self cls") (#set! tests "^test"))

(function_definition
  name: (identifier) @name.definition.function
  body: (_) @body) @definition.function

(class_definition
  name: (identifier) @name.definition.class
  body: (_) @body) @definition.class

; A decorated definition spans its decorators; the inner node is then dropped as a duplicate.
(decorated_definition
  definition: (function_definition name: (identifier) @name.definition.function))
  @definition.function

(decorated_definition
  definition: (class_definition name: (identifier) @name.definition.class)) @definition.class

(module (expression_statement (assignment left: (identifier) @name.definition.constant)))
(module (expression_statement (assignment left: (pattern_list (identifier) @name.definition.constant))))
(module (if_statement (block (expression_statement (assignment left: (identifier) @name.definition.constant)))))
(module (try_statement (block (expression_statement (assignment left: (identifier) @name.definition.constant)))))
(class_definition
  body: (block (expression_statement (assignment left: (identifier) @name.definition.constant))))

(module (_) @statement)
(module [(import_statement) (import_from_statement) (future_import_statement)] @statement.import)
(module (comment) @statement.skip)
(module . (expression_statement (string)) @statement.skip)
