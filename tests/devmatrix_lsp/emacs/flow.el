;;; flow.el --- Drive devmatrix-lsp through Eglot, as a person would from Emacs  -*- lexical-binding: t; -*-

;; spec -> plan -> approve -> run -> review-needed diagnostic in the buffer (Flymake) -> Eglot's
;; own code-action command applies the atom -> the file holds it -> the review item is approved
;; through its code action -> the diagnostic clears -> the source action fills a new file ->
;; Eglot shuts the server down.  Each step uses the commands a person would type.
;;
;;   emacs --batch -Q -l flow.el --eval '(devmatrix-flow-main "CONFIG.json")'
;;   emacs --batch -Q -l flow.el --eval '(devmatrix-flow-probe)'    ; is Eglot loadable?
;;
;; CONFIG.json (written by tests/devmatrix_lsp/test_emacs.py): workspace, spec (relative),
;; snippets {config, command, apply_all} (files holding the elisp blocks of
;; docs/editors/emacs.md, loaded as they are), contact (the doc's offline-demo contact with the
;; real answers file), atom {file, name, body}, apply_all {file, body}, timeout (seconds).
;;
;; It prints one line per event on stdout, `DEVMATRIX-FLOW <kind> <name> <json or text>', and exits
;; 0 when every step completed, 1 when one failed, 2 when the watchdog fired.  No file is read or
;; written outside the workspace but the config and the snippets.

(require 'cl-lib)
(require 'json)
(require 'subr-x)

(defvar devmatrix-flow-package-dirs '("/usr/share/emacs/site-lisp/elpa")
  "Where distributions keep ELPA packages (Debian's elpa-eglot for Emacs 28).")
(defvar devmatrix-flow--started (float-time))
(defvar devmatrix-flow--config nil "The parsed CONFIG.json, an alist.")
(defvar devmatrix-flow--server nil "The Eglot server of the workspace once connected.")
(defvar devmatrix-flow--confirmations nil "Prompts Eglot asked yes/no, answered yes.")

(defun devmatrix-flow--emit (kind name payload)
  "Print one event line on stdout: KIND NAME and PAYLOAD (text, or data encoded as JSON)."
  (princ (format "DEVMATRIX-FLOW %s %s %s\n" kind name
                 (if (stringp payload)
                     (replace-regexp-in-string "\n" "\\\\n" payload)
                   (json-encode payload)))))

(defun devmatrix-flow--bool (value)
  "VALUE as a JSON boolean (nil would be encoded as null)."
  (if value t :json-false))

(defun devmatrix-flow--trace (format-string &rest args)
  "Print a timestamped trace line, for the test's failure messages."
  (devmatrix-flow--emit "TRACE" (format "%6d"
                                        (round (* 1000 (- (float-time)
                                                          devmatrix-flow--started))))
                        (apply #'format format-string args)))

(defun devmatrix-flow--get (&rest keys)
  "The value at KEYS (symbols) in the config."
  (let ((value devmatrix-flow--config))
    (dolist (key keys value)
      (setq value (alist-get key value)))))

(defun devmatrix-flow--wait (what seconds condition)
  "Run the event loop until CONDITION returns non-nil, which is returned; error after SECONDS."
  (devmatrix-flow--trace "waiting for %s (up to %d s)" what seconds)
  (let ((deadline (+ (float-time) seconds))
        value)
    (while (and (not (setq value (funcall condition)))
                (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (unless value
      (error "Timed out after %d s waiting for %s" seconds what))
    (devmatrix-flow--trace "got %s" what)
    value))

;;; Loading Eglot the way the machine provides it

(defun devmatrix-flow--load-eglot ()
  "Load Eglot: built in (Emacs 29+) or installed as a package (Debian's elpa-eglot on 28).
`-Q' skips site-lisp, so the distribution's package folders are activated explicitly, as
`package-initialize' does at a normal start.  Returns Eglot's version, or nil when absent."
  (unless (locate-library "eglot")
    (require 'package)
    (setq package-directory-list
          (append package-directory-list
                  devmatrix-flow-package-dirs))
    ;; Nothing under the user's own ~/.emacs.d: HOME is a temporary folder in the test.
    (setq package-user-dir (expand-file-name "elpa" temporary-file-directory))
    (package-initialize))
  (when (require 'eglot nil t)
    (require 'package)
    (let ((desc (or (cadr (assq 'eglot package-alist))
                    (cadr (assq 'eglot package--builtins)))))
      (cond ((and desc (fboundp 'package-desc-version))
             (package-version-join (package-desc-version desc)))
            ((and desc (vectorp desc)) (package-version-join (aref desc 0)))
            (t "unknown")))))

(defun devmatrix-flow-probe ()
  "Print Emacs's and Eglot's versions; exit 0 when Eglot loads, 3 when it does not."
  (let ((version (devmatrix-flow--load-eglot)))
    (princ (format "emacs %s eglot %s\n" emacs-version (or version "missing")))
    (kill-emacs (if version 0 3))))

;;; The documented set-up

(defun devmatrix-flow--devmatrix-entry ()
  "The entry of `eglot-server-programs' whose program is devmatrix-lsp, or nil."
  (cl-find-if (lambda (entry)
                (let ((contact (cdr entry)))
                  (and (consp contact) (equal (car contact) "devmatrix-lsp"))))
              eglot-server-programs))

(defun devmatrix-flow--read-file (path)
  "The first form of the elisp file at PATH."
  (with-temp-buffer
    (insert-file-contents path)
    (read (current-buffer))))

(defun devmatrix-flow--configure ()
  "Load the doc's init-file snippet and its devmatrix-command; swap in the offline contact."
  (load (devmatrix-flow--get 'snippets 'config) nil t)
  (load (devmatrix-flow--get 'snippets 'command) nil t)
  (load (devmatrix-flow--get 'snippets 'apply_all) nil t)
  (let ((entry (devmatrix-flow--devmatrix-entry)))
    (unless entry
      (error "The doc's snippet added no devmatrix-lsp entry to eglot-server-programs"))
    (let ((documented (copy-tree (cdr entry))))
      ;; The doc's offline demo: the same entry with the scripted model's contact.
      (setcdr entry (devmatrix-flow--read-file (devmatrix-flow--get 'contact)))
      (list :modes (vconcat (mapcar #'symbol-name (car entry)))
            :documented_contact (format "%S" documented)
            :contact (format "%S" (cdr entry))
            :first (eq entry (car eglot-server-programs))))))

;;; The flow

(defun devmatrix-flow--visit (file)
  "Visit FILE (relative to the workspace), as `C-x C-f' does; returns its buffer."
  (let ((buffer (find-file (expand-file-name file (devmatrix-flow--get 'workspace)))))
    (set-buffer buffer)
    buffer))

(defun devmatrix-flow--atom-buffer ()
  "The buffer visiting the atom's file, or nil before it is visited."
  (find-buffer-visiting (expand-file-name (devmatrix-flow--get 'atom 'file)
                                          (devmatrix-flow--get 'workspace))))

(defun devmatrix-flow--command (name &optional argument)
  "Run devmatrix.NAME through the doc's `devmatrix-command' and return the answer it showed."
  (devmatrix-flow--trace "M-x devmatrix-command RET %s RET %s" name (or argument ""))
  (let ((shown (devmatrix-command name (or argument ""))))
    (devmatrix-flow--trace "  -> %s" shown)
    (car (read-from-string shown))))

(defun devmatrix-flow--review-diagnostics ()
  "The current buffer's Flymake diagnostics from devmatrix with the review-needed code."
  (cl-remove-if-not
   (lambda (diagnostic)
     (let ((lsp (alist-get 'eglot-lsp-diag (flymake-diagnostic-data diagnostic))))
       (and (equal (plist-get lsp :source) "devmatrix")
            (equal (plist-get lsp :code) "review-needed"))))
   (flymake-diagnostics)))

(defun devmatrix-flow--describe (diagnostic)
  "DIAGNOSTIC as data: Flymake's type and text, its lines, and the LSP diagnostic behind it."
  (list :type (symbol-name (flymake-diagnostic-type diagnostic))
        :text (flymake-diagnostic-text diagnostic)
        :lines (vector (line-number-at-pos (flymake-diagnostic-beg diagnostic))
                       (line-number-at-pos (flymake-diagnostic-end diagnostic)))
        :lsp (alist-get 'eglot-lsp-diag (flymake-diagnostic-data diagnostic))))

(defun devmatrix-flow--code-action (title)
  "Point on the review-needed diagnostic, `M-x eglot-code-actions', pick TITLE from the menu.
Eglot itself requests the actions, applies the chosen one's edit and runs its command; the
titles it offered are returned."
  (let* ((diagnostic (or (car (devmatrix-flow--review-diagnostics))
                         (error "No review-needed diagnostic left in %s" (buffer-name))))
         (offered nil)
         ;; What a person typing in the minibuffer would do: pick the title from the menu.
         (completing-read-function
          (lambda (prompt collection &rest _)
            (setq offered (mapcar #'car collection))
            (devmatrix-flow--trace "%s%S" prompt offered)
            (unless (member title offered)
              (error "No code action %S among %S" title offered))
            title))
         ;; A keyboard invocation (a mouse one would pop up a menu instead of the minibuffer).
         (last-nonmenu-event ?a))
    (goto-char (flymake-diagnostic-beg diagnostic))
    (call-interactively #'eglot-code-actions)
    offered))

(defun devmatrix-flow--step-connect ()
  "Visit the atom's file and start Eglot there (`M-x eglot'), as the doc says."
  (let ((configured (devmatrix-flow--configure)))
    (devmatrix-flow--visit (devmatrix-flow--get 'atom 'file))
    (call-interactively #'eglot)
    (setq devmatrix-flow--server
          (devmatrix-flow--wait "Eglot to connect" 60
                                (lambda () (and eglot--managed-mode (eglot-current-server)))))
    (let ((capabilities (eglot--capabilities devmatrix-flow--server)))
      (append configured
              (list :major_mode (symbol-name major-mode)
                    :root (expand-file-name (project-root (eglot--project
                                                           devmatrix-flow--server)))
                    :server_info (eglot--server-info devmatrix-flow--server)
                    :commands (plist-get (plist-get capabilities :executeCommandProvider)
                                         :commands))))))

(defun devmatrix-flow--step-status ()
  "devmatrix.status until the private backend is connected."
  (let (status)
    (devmatrix-flow--wait "devmatrix.status to say connected" 120
                          (lambda ()
                            (setq status (devmatrix-flow--command "status"))
                            (or (equal (plist-get status :state) "connected")
                                (progn (sleep-for 0.2) nil))))
    status))

(defun devmatrix-flow--step-plan ()
  "A plan from the spec file."
  (devmatrix-flow--command "plan.fromSpec"
                           (json-encode (list :path (devmatrix-flow--get 'spec)))))

(defun devmatrix-flow--step-approve ()
  "Approve the plan (empty argument)."
  (devmatrix-flow--command "plan.approve"))

(defun devmatrix-flow--step-run ()
  "Start the run; wait for the review-needed warning to reach Flymake in the atom's buffer."
  (let ((started (devmatrix-flow--command "run.start")))
    (let ((diagnostic
           (devmatrix-flow--wait
            "a review-needed diagnostic in Flymake" 60
            (lambda () (car (devmatrix-flow--review-diagnostics))))))
      (list :start started
            :flymake_mode (devmatrix-flow--bool flymake-mode)
            :review_needed (devmatrix-flow--describe diagnostic)))))

(defun devmatrix-flow--buffer-holds-atom-p ()
  "Whether the atom's body is in the current buffer."
  (save-excursion
    (goto-char (point-min))
    (search-forward (devmatrix-flow--get 'atom 'body) nil t)))

(defun devmatrix-flow--step-apply-atom ()
  "The apply-atom code action through Eglot; then save the buffer, as a person would."
  (let* ((before (buffer-string))
         (offered (devmatrix-flow--code-action
                   (concat "DevMatrix: apply atom " (devmatrix-flow--get 'atom 'name)))))
    (devmatrix-flow--wait "the atom in the buffer" 10 #'devmatrix-flow--buffer-holds-atom-p)
    (make-directory (file-name-directory buffer-file-name) t)
    (save-buffer)
    (list :offered (vconcat offered)
          :before before
          :after (buffer-string)
          :on_disk (let ((file buffer-file-name))
                     (with-temp-buffer
                       (insert-file-contents file)
                       (buffer-string)))
          :modified (devmatrix-flow--bool (buffer-modified-p)))))

(defun devmatrix-flow--def-line ()
  "The 1-based line of the applied atom's `def', or nil."
  (save-excursion
    (goto-char (point-min))
    (when (re-search-forward (concat "^def " (regexp-quote (devmatrix-flow--get 'atom 'name))
                                     "(")
                             nil t)
      (line-number-at-pos))))

(defun devmatrix-flow--step-approve-review ()
  "The approve-review code action through Eglot; wait for the warning to clear."
  (let ((moved
         (devmatrix-flow--wait
          "the review-needed diagnostic to cover the applied atom" 15
          (lambda ()
            (let ((line (devmatrix-flow--def-line))
                  (diagnostic (car (devmatrix-flow--review-diagnostics))))
              (and line diagnostic
                   (<= (line-number-at-pos (flymake-diagnostic-beg diagnostic)) line
                       (line-number-at-pos (flymake-diagnostic-end diagnostic)))
                   (devmatrix-flow--describe diagnostic))))))
        (since (float-time)))
    (devmatrix-flow--code-action
     (concat "DevMatrix: approve review " (devmatrix-flow--get 'atom 'name)))
    (devmatrix-flow--wait "the review-needed diagnostic to clear" 30
                          (lambda () (null (devmatrix-flow--review-diagnostics))))
    (list :moved moved
          :def_line (devmatrix-flow--def-line)
          :cleared_after_ms (round (* 1000 (- (float-time) since)))
          :left (vconcat (mapcar #'flymake-diagnostic-text (flymake-diagnostics))))))

(defun devmatrix-flow--step-apply-all ()
  "In a new, empty file of the plan: the doc's `devmatrix-apply-all' (the source action)."
  (devmatrix-flow--visit (devmatrix-flow--get 'apply_all 'file))
  (devmatrix-flow--wait "Eglot to manage the new file" 10 (lambda () eglot--managed-mode))
  (let ((before (buffer-string))
        (body (devmatrix-flow--get 'apply_all 'body)))
    (call-interactively #'devmatrix-apply-all)
    (devmatrix-flow--wait "the validated atoms in the new file" 10
                          (lambda ()
                            (save-excursion (goto-char (point-min))
                                            (search-forward body nil t))))
    (make-directory (file-name-directory buffer-file-name) t)
    (save-buffer)
    (list :before before
          :on_disk (let ((file buffer-file-name))
                     (with-temp-buffer
                       (insert-file-contents file)
                       (buffer-string))))))

(defconst devmatrix-flow--steps
  '(("connect" . devmatrix-flow--step-connect)
    ("status" . devmatrix-flow--step-status)
    ("plan" . devmatrix-flow--step-plan)
    ("approve" . devmatrix-flow--step-approve)
    ("run" . devmatrix-flow--step-run)
    ("apply_atom" . devmatrix-flow--step-apply-atom)
    ("approve_review" . devmatrix-flow--step-approve-review)
    ("apply_all" . devmatrix-flow--step-apply-all))
  "The steps in order; each returns data printed as its STEP line.")

(defun devmatrix-flow--shutdown ()
  "`M-x eglot-shutdown': the shutdown request, then exit, so the server stops its private
backend.  Eglot 1.9 deletes the process right after sending exit, whatever the server does."
  (when (and devmatrix-flow--server (jsonrpc-running-p devmatrix-flow--server))
    (let ((process (jsonrpc--process devmatrix-flow--server))
          (answered t))
      (condition-case err
          (eglot-shutdown devmatrix-flow--server nil 15 t)
        (error (setq answered nil)
               (devmatrix-flow--trace "eglot-shutdown: %s" (error-message-string err))))
      (devmatrix-flow--emit "STEP" "shutdown"
                            (list :answered (devmatrix-flow--bool answered)
                                  :exit_status (process-exit-status process)
                                  :live (devmatrix-flow--bool (process-live-p process)))))))

(defun devmatrix-flow--state ()
  "Flymake's and Eglot's view of the atom's buffer, for the test's failure messages."
  (let ((buffer (devmatrix-flow--atom-buffer)))
    (if (not buffer)
        (list :buffer nil)
      (with-current-buffer buffer
        (list :buffer (buffer-name)
              :flymake_mode (devmatrix-flow--bool flymake-mode)
              :running (format "%S" (flymake-running-backends))
              :disabled (format "%S" (flymake-disabled-backends))
              :reporting (format "%S" (flymake-reporting-backends))
              :eglot_diagnostics (format "%S" eglot--diagnostics)
              :report_fn (devmatrix-flow--bool eglot--current-flymake-report-fn)
              :flymake (vconcat (mapcar #'flymake-diagnostic-text (flymake-diagnostics))))))))

(defun devmatrix-flow--events (chars)
  "The last CHARS characters of Eglot's events buffer (every JSON-RPC message)."
  (when devmatrix-flow--server
    (let ((buffer (jsonrpc-events-buffer devmatrix-flow--server)))
      (when (buffer-live-p buffer)
        (with-current-buffer buffer
          (buffer-substring-no-properties (max (point-min) (- (point-max) chars))
                                          (point-max)))))))

(defun devmatrix-flow--event-counts ()
  "How often some methods went by in Eglot's events buffer."
  (let ((events (or (devmatrix-flow--events most-positive-fixnum) "")))
    (cl-loop for method in '("workspace/didChangeConfiguration" "window/showDocument"
                             "window/workDoneProgress/create" "codeAction/resolve")
             append (list (intern (concat ":" method))
                          (cl-loop with start = 0 with count = 0
                                   while (string-match (regexp-quote (format "%S" method))
                                                       events start)
                                   do (setq count (1+ count) start (match-end 0))
                                   finally return count)))))

(defun devmatrix-flow--stderr ()
  "What the language server printed on stderr, for the test's failure messages."
  (when devmatrix-flow--server
    (let ((buffer (jsonrpc-stderr-buffer devmatrix-flow--server)))
      (when (buffer-live-p buffer)
        (with-current-buffer buffer (buffer-string))))))

(defun devmatrix-flow-main (config-path)
  "Run every step with the settings at CONFIG-PATH, print what happened, and exit."
  (setq devmatrix-flow--config (json-read-file config-path))
  (run-at-time (devmatrix-flow--get 'timeout) nil
               (lambda ()
                 (devmatrix-flow--emit "FAILED" "watchdog" "the whole flow took too long")
                 (kill-emacs 2)))
  (advice-add 'y-or-n-p :override
              (lambda (prompt)
                (push prompt devmatrix-flow--confirmations)
                (devmatrix-flow--trace "y-or-n-p %S -> y" prompt)
                t))
  (let ((version (devmatrix-flow--load-eglot))
        (failed nil)
        (make-backup-files nil)
        (auto-save-default nil)
        (create-lockfiles nil))
    (devmatrix-flow--emit "STEP" "versions" (list :emacs emacs-version :eglot version))
    (unless version
      (devmatrix-flow--emit "FAILED" "load" "Eglot is not installed")
      (kill-emacs 3))
    (cl-loop for (name . step) in devmatrix-flow--steps
             do (devmatrix-flow--trace "step %s" name)
             (let ((visited (devmatrix-flow--atom-buffer)))
               (when visited (set-buffer visited)))
             (condition-case err
                 (devmatrix-flow--emit "STEP" name (funcall step))
               (error
                (setq failed name)
                (devmatrix-flow--emit "FAILED" name (error-message-string err))))
             until failed)
    (devmatrix-flow--emit "STEP" "confirmations" (vconcat devmatrix-flow--confirmations))
    (devmatrix-flow--emit "STEP" "events" (devmatrix-flow--event-counts))
    (when failed
      (devmatrix-flow--emit "STATE" failed (devmatrix-flow--state))
      (princ (format "--- Eglot events (last part) ---\n%s\n--- end of events ---\n"
                     (devmatrix-flow--events 12000))))
    (let ((stderr (devmatrix-flow--stderr)))
      (devmatrix-flow--shutdown)
      (when (and failed stderr)
        (princ (format "--- server stderr ---\n%s\n--- end of stderr ---\n" stderr))))
    (kill-emacs (if failed 1 0))))

;;; flow.el ends here
