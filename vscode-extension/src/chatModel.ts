/**
 * The chat panel's content without the webview: Markdown rendering (markdown-it, raw HTML and
 * images off, so an answer can neither inject markup nor load anything remote), the transcript
 * that streamed deltas accumulate into, and the panel's HTML with its Content-Security-Policy.
 */
import MarkdownIt from "markdown-it";
import { randomBytes } from "node:crypto";

const markdown = new MarkdownIt({ html: false, linkify: false, typographer: false }).disable("image");

/** Markdown to HTML that is safe to put in the webview. */
export function renderMarkdown(text: string): string {
  return markdown.render(text);
}

export type Role = "user" | "assistant";

export interface ChatMessage {
  id: number;
  role: Role;
  text: string;
  streaming: boolean;
  /** Set when the answer is complete. */
  kind?: "answer" | "plan";
  uri?: string;
  planId?: number;
  error?: string;
}

/** The messages of one panel, with one conversation id carried from answer to answer. */
export class ChatTranscript {
  readonly messages: ChatMessage[] = [];
  conversationId: string | number | undefined;
  private nextId = 1;

  /** Add the user's message and an empty streaming answer; returns the answer. */
  ask(text: string): ChatMessage {
    this.messages.push({ id: this.nextId++, role: "user", text, streaming: false });
    const answer: ChatMessage = { id: this.nextId++, role: "assistant", text: "", streaming: true };
    this.messages.push(answer);
    return answer;
  }

  /** Append one streamed delta. */
  append(answer: ChatMessage, delta: string): void {
    answer.text += delta;
  }

  /**
   * Close an answer with the server's result. The streamed pieces are the whole answer (the
   * server reports every piece, and a reply that did not stream as one piece); `fallbackText`
   * (the conversation's Markdown file) is shown only when no piece arrived.
   */
  finish(
    answer: ChatMessage,
    result: { conversationId: string | number; kind: "answer" | "plan"; uri: string; planId?: number },
    fallbackText: string | undefined,
  ): void {
    this.conversationId = result.conversationId;
    answer.streaming = false;
    answer.kind = result.kind;
    answer.uri = result.uri;
    answer.planId = result.planId;
    if (answer.text === "" && fallbackText !== undefined && fallbackText.trim() !== "") {
      answer.text = fallbackText;
    }
  }

  /** Close an answer with an error for the person. */
  fail(answer: ChatMessage, message: string): void {
    answer.streaming = false;
    answer.error = message;
  }
}

/** What the webview receives to draw one message. */
export interface MessageView {
  id: number;
  role: Role;
  html: string;
  streaming: boolean;
  /** "Make this a plan" is offered on finished answers that are not plans already. */
  canMakePlan: boolean;
  planId?: number;
  error?: string;
}

/** Render a message for the webview. */
export function messageView(message: ChatMessage): MessageView {
  return {
    id: message.id,
    role: message.role,
    html: message.role === "user" ? `<p>${escapeHtml(message.text)}</p>` : renderMarkdown(message.text),
    streaming: message.streaming,
    canMakePlan: message.role === "assistant" && !message.streaming && message.kind === "answer" && !message.error,
    planId: message.planId,
    error: message.error,
  };
}

/** Escape text for HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A fresh nonce for the panel's script tag. */
export function makeNonce(): string {
  return randomBytes(18).toString("base64").replace(/[^A-Za-z0-9]/g, "");
}

export interface ChatHtmlInput {
  /** webview.cspSource */
  cspSource: string;
  nonce: string;
  scriptUri: string;
  styleUri: string;
}

/** The Content-Security-Policy of the panel: nothing by default, our own files, one nonce'd script. */
export function chatCsp(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `img-src ${cspSource} data:`,
    `script-src 'nonce-${nonce}'`,
    "connect-src 'none'",
    "frame-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
  ].join("; ");
}

/** The panel's HTML shell; messages arrive by postMessage. */
export function chatHtml(input: ChatHtmlInput): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${chatCsp(input.cspSource, input.nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeHtml(input.styleUri)}">
<title>DevMatrix chat</title>
</head>
<body>
<main id="messages" aria-live="polite"></main>
<form id="composer">
<textarea id="input" rows="3" placeholder="Ask a question, or describe what to build…" aria-label="Message"></textarea>
<button id="send" type="submit">Send</button>
</form>
<script nonce="${input.nonce}" src="${escapeHtml(input.scriptUri)}"></script>
</body>
</html>`;
}
