; Python structure, run with a shallow cursor (see devmatrix/code/languages.py: STRUCTURE_DEPTH).
; Capture names are the contract read by devmatrix/code/extract.py:
;   definition.<kind> + name.definition.<kind>   a definition (function, class, test) and its name
;   body                                        body of a definition; the signature is the text before it
;   name.definition.constant                    a name bound by assignment at module or class level
;   statement / statement.import / statement.skip   top-level statements; skip = comments, docstring
;   language (#set! receivers ...)              words that mean "this object" inside a method

((module) @language (#set! receivers "self cls"))

((function_definition
   name: (identifier) @name.definition.function
   body: (_) @body) @definition.function
 (#not-match? @name.definition.function "^test"))

((function_definition
   name: (identifier) @name.definition.test
   body: (_) @body) @definition.test
 (#match? @name.definition.test "^test"))

(class_definition
  name: (identifier) @name.definition.class
  body: (_) @body) @definition.class

; A decorated definition spans its decorators; the inner node is then dropped as a duplicate.
((decorated_definition
   definition: (function_definition name: (identifier) @name.definition.function))
   @definition.function
 (#not-match? @name.definition.function "^test"))

((decorated_definition
   definition: (function_definition name: (identifier) @name.definition.test)) @definition.test
 (#match? @name.definition.test "^test"))

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
