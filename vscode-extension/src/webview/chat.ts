/**
 * The chat webview's script (bundled, loaded with the page's nonce). It draws messages the
 * extension renders (HTML from markdown-it with raw HTML disabled) and posts the person's actions.
 */

interface MessageView {
  id: number;
  role: "user" | "assistant";
  html: string;
  streaming: boolean;
  canMakePlan: boolean;
  planId?: number;
  error?: string;
}

declare function acquireVsCodeApi(): { postMessage(message: unknown): void };

const vscode = acquireVsCodeApi();
const list = document.getElementById("messages") as HTMLElement;
const form = document.getElementById("composer") as HTMLFormElement;
const input = document.getElementById("input") as HTMLTextAreaElement;

function button(label: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

function addCopyButtons(body: HTMLElement): void {
  body.querySelectorAll("pre").forEach((pre) => {
    const code = pre.textContent ?? "";
    const copy = button("Copy", () => void navigator.clipboard.writeText(code));
    copy.className = "copy";
    pre.prepend(copy);
  });
}

function draw(view: MessageView): void {
  let node = document.getElementById(`m${view.id}`);
  if (node === null) {
    node = document.createElement("section");
    node.id = `m${view.id}`;
    list.append(node);
  }
  node.className = `message ${view.role}${view.streaming ? " streaming" : ""}${view.error ? " error" : ""}`;
  const body = document.createElement("div");
  body.className = "body";
  body.innerHTML = view.html; // markdown-it output with html disabled: no markup from the answer itself
  addCopyButtons(body);
  const parts: Node[] = [body];
  if (view.error) {
    const error = document.createElement("p");
    error.className = "error-text";
    error.textContent = view.error;
    parts.push(error);
  }
  if (view.canMakePlan) {
    parts.push(button("Make this a plan", () => vscode.postMessage({ type: "makePlan", id: view.id })));
  } else if (view.planId !== undefined) {
    const note = document.createElement("p");
    note.className = "note";
    note.textContent = `Plan ${view.planId} created — see the MasterPlan view.`;
    parts.push(note);
  }
  node.replaceChildren(...parts);
  node.scrollIntoView({ block: "end" });
}

window.addEventListener("message", (event: MessageEvent<{ type: string; message: MessageView }>) => {
  if (event.data.type === "message") draw(event.data.message);
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (text === "") return;
  vscode.postMessage({ type: "send", text });
  input.value = "";
});

input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
});

vscode.postMessage({ type: "ready" });
