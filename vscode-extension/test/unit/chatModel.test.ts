import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChatTranscript, chatCsp, chatHtml, makeNonce, messageView, renderMarkdown } from "../../src/chatModel";

describe("renderMarkdown", () => {
  it("renders code blocks with their language", () => {
    const html = renderMarkdown("Use this:\n\n```python\ndef add(a, b):\n    return a + b\n```\n");
    assert.match(html, /<pre><code class="language-python">def add\(a, b\):/);
  });

  it("escapes raw HTML from an answer instead of passing it through", () => {
    const html = renderMarkdown('<script>alert(1)</script> <img src="https://evil.example/x.png">');
    assert.doesNotMatch(html, /<script>|<img/);
    assert.match(html, /&lt;script&gt;/);
  });

  it("does not turn Markdown images into requests", () => {
    assert.doesNotMatch(renderMarkdown("![x](https://evil.example/x.png)"), /<img/);
  });
});

describe("ChatTranscript", () => {
  it("streams deltas into the answer, which stays when it ends (the file is the whole conversation)", () => {
    const chat = new ChatTranscript();
    const answer = chat.ask("what is add?");
    chat.append(answer, "It adds ");
    chat.append(answer, "two numbers.");
    assert.equal(answer.text, "It adds two numbers.");
    assert.equal(messageView(answer).streaming, true);
    assert.equal(messageView(answer).canMakePlan, false);
    chat.append(answer, " **Both** of them.");
    chat.finish(answer, { conversationId: 3, kind: "answer", uri: "file:///d/c/3.md" }, "# what is add?\n\n## You\n\nwhat is add?\n");
    assert.equal(chat.conversationId, 3);
    const view = messageView(answer);
    assert.equal(view.html, "<p>It adds two numbers. <strong>Both</strong> of them.</p>\n");
    assert.equal(view.canMakePlan, true);
  });

  it("shows the conversation file when no piece of the answer arrived", () => {
    const chat = new ChatTranscript();
    const answer = chat.ask("what is add?");
    chat.finish(answer, { conversationId: 3, kind: "answer", uri: "file:///d/c/3.md" }, "It adds **two** numbers.\n");
    assert.equal(messageView(answer).html, "<p>It adds <strong>two</strong> numbers.</p>\n");
  });

  it("keeps the streamed text when the answer file is empty or unreadable", () => {
    const chat = new ChatTranscript();
    const answer = chat.ask("hi");
    chat.append(answer, "hello");
    chat.finish(answer, { conversationId: "c1", kind: "answer", uri: "file:///x.md" }, undefined);
    assert.equal(answer.text, "hello");
  });

  it("offers no 'make this a plan' on plans and failed answers", () => {
    const chat = new ChatTranscript();
    const plan = chat.ask("build a todo API");
    chat.finish(plan, { conversationId: 1, kind: "plan", uri: "file:///p.md", planId: 9 }, "# plan");
    assert.equal(messageView(plan).canMakePlan, false);
    assert.equal(messageView(plan).planId, 9);
    const failed = chat.ask("again");
    chat.fail(failed, "backend down");
    assert.equal(messageView(failed).canMakePlan, false);
    assert.equal(messageView(failed).error, "backend down");
  });

  it("escapes the person's own text", () => {
    const chat = new ChatTranscript();
    chat.ask("<b>bold</b>");
    assert.equal(messageView(chat.messages[0]).html, "<p>&#60;b&#62;bold&#60;/b&#62;</p>");
  });
});

describe("chat panel HTML", () => {
  const cspSource = "https://file+.vscode-resource.vscode-cdn.net";
  const nonce = makeNonce();
  const html = chatHtml({
    cspSource,
    nonce,
    scriptUri: `${cspSource}/ext/dist/webview/chat.js`,
    styleUri: `${cspSource}/ext/media/chat.css`,
  });

  it("denies everything by default and allows only the nonce'd script", () => {
    const csp = chatCsp(cspSource, nonce);
    assert.match(csp, /^default-src 'none'; /);
    assert.match(csp, new RegExp(`script-src 'nonce-${nonce}'`));
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    assert.match(html, new RegExp(`<meta http-equiv="Content-Security-Policy" content="${csp.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}">`));
  });

  it("gives every script the nonce and loads nothing from outside the extension", () => {
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    assert.equal(scripts.length, 1);
    assert.match(scripts[0], new RegExp(`nonce="${nonce}"`));
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    assert.ok(urls.length === 2 && urls.every((u) => u.startsWith(cspSource)), urls.join(", "));
  });

  it("makes a different nonce each time", () => {
    assert.notEqual(makeNonce(), makeNonce());
    assert.match(makeNonce(), /^[A-Za-z0-9]{16,}$/);
  });
});
