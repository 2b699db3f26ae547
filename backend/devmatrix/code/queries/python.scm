; Python definitions, run with a shallow cursor (see devmatrix/code/languages.py: STRUCTURE_DEPTH).
; Capture names are the contract read by devmatrix/code/extract.py:
;   definition.<kind> + name.definition.<kind>   a definition (function, class) and its name
;   body                                        body of a definition; the signature is the text before it
;   name.definition.constant                    a name bound by assignment at class level
; What sits at module level (statements, module constants, language settings) is matched by
; python-statements.scm, whose patterns all start at the root: it is run with a cursor that
; starts no match below the root, a fraction of the cost of this pass.

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

(class_definition
  body: (block (expression_statement (assignment left: (identifier) @name.definition.constant))))
