/**
 * The chat panel's webview in a real headless Chromium (playwright-core driving the system's
 * /usr/bin/chromium): the built dist/webview/chat.js in the HTML of `chatHtml`, served from a
 * loopback origin that stands in for VS Code's webview resource origin. `acquireVsCodeApi` is an
 * init script that records what the page posts. Streamed `message` updates are drawn as Markdown
 * and code blocks; the Content-Security-Policy refuses an inline script and remote resources (a
 * second loopback server, another origin, must see no request); the buttons post the right messages.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { ChatTranscript, chatHtml, messageView, type ChatMessage, type MessageView } from "../../src/chatModel";
import { EXTENSION_ROOT } from "../repo";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const SCRIPT = path.join(EXTENSION_ROOT, "dist", "webview", "chat.js");
const STYLE = path.join(EXTENSION_ROOT, "media", "chat.css");
const NONCE = "dGVzdG5vbmNlMDEyMzQ1Njc4OQ";
const ANSWER_PIECES = ["An atom is one ", "top-level symbol:\n\n```py", "thon\ndef add(a: int, b: int) -> int:\n", "    return a + b\n```\n\nSee **REQ-1**."];

/** Outside CI a machine without Chromium skips this file; in CI (.ci/run installs it) it must run. */
const skip = existsSync(CHROMIUM) || process.env.CI ? false : `no ${CHROMIUM} (apt-get install chromium); the webview test needs a real browser`;

interface Recorded {
  posted: Array<{ type: string; id?: number; text?: string }>;
  violations: Array<{ directive: string; blocked: string }>;
}

/** A loopback HTTP server answering `routes` by path (404 otherwise); counts every request. */
async function serve(routes: Record<string, { type: string; body: string }>): Promise<{ server: Server; origin: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(request.url ?? "");
    const route = routes[request.url ?? ""];
    response.writeHead(route ? 200 : 404, { "Content-Type": route?.type ?? "text/plain" });
    response.end(route?.body ?? "not found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

describe("the chat webview in headless Chromium", { skip }, () => {
  let browser: Browser;
  let page: Page;
  let webview: Awaited<ReturnType<typeof serve>>;
  let remote: Awaited<ReturnType<typeof serve>>;
  const pageErrors: string[] = [];
  const transcript = new ChatTranscript();
  let answer: ChatMessage;

  const recorded = (): Promise<Recorded> => page.evaluate(() => (window as unknown as { recorded: Recorded }).recorded);
  // postMessage delivers the event in a later task: resolve once it has been dispatched. The
  // page's own listener was added first, so it has drawn the message by then.
  const post = (view: MessageView): Promise<void> =>
    page.evaluate(
      (message) =>
        new Promise<void>((resolve) => {
          window.addEventListener("message", () => resolve(), { once: true });
          window.postMessage({ type: "message", message }, "*");
        }),
      view,
    );

  before(async () => {
    assert.ok(existsSync(SCRIPT), `${SCRIPT} is missing: run npm run build first`);
    remote = await serve({ "/x.png": { type: "image/png", body: "" }, "/x.js": { type: "text/javascript", body: "window.remoteRan = true;" } });
    const routes: Record<string, { type: string; body: string }> = {
      "/webview/chat.js": { type: "text/javascript", body: readFileSync(SCRIPT, "utf8") },
      "/media/chat.css": { type: "text/css", body: readFileSync(STYLE, "utf8") },
    };
    webview = await serve(routes);
    routes["/index.html"] = {
      type: "text/html",
      body: chatHtml({
        cspSource: webview.origin,
        nonce: NONCE,
        scriptUri: `${webview.origin}/webview/chat.js`,
        styleUri: `${webview.origin}/media/chat.css`,
      }),
    };
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    page = await browser.newPage();
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.addInitScript(() => {
      const recorded: Recorded = { posted: [], violations: [] };
      Object.assign(window, {
        recorded,
        acquireVsCodeApi: () => ({ postMessage: (message: Recorded["posted"][number]) => recorded.posted.push(message) }),
      });
      document.addEventListener("securitypolicyviolation", (e) => recorded.violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI }));
    });
    await page.goto(`${webview.origin}/index.html`);
    await page.waitForFunction(() => (window as unknown as { recorded: Recorded }).recorded.posted.length > 0);
  });

  after(async () => {
    await browser?.close();
    webview?.server.close();
    remote?.server.close();
  });

  it("loads its nonce'd script under the CSP and says it is ready", async () => {
    assert.deepEqual((await recorded()).posted, [{ type: "ready" }]);
    assert.deepEqual((await recorded()).violations, []);
    assert.deepEqual(pageErrors, []);
  });

  it("draws a streamed answer as it grows, then its Markdown and code block", async () => {
    answer = transcript.ask("What is an atom?");
    await post(messageView(transcript.messages[0]));
    let shownBefore = "";
    for (const piece of ANSWER_PIECES) {
      transcript.append(answer, piece);
      await post(messageView(answer));
      const shown = await page.locator(`#m${answer.id} .body`).innerText();
      assert.match(shown, /^An atom is one/);
      assert.ok(shown.length > shownBefore.length, `the answer did not grow with ${JSON.stringify(piece)}: ${JSON.stringify(shown)}`);
      shownBefore = shown;
      assert.equal(await page.locator(`#m${answer.id}`).getAttribute("class"), "message assistant streaming");
    }
    transcript.finish(answer, { conversationId: 1, kind: "answer", uri: "file:///data/chat/conversation-1.md" }, undefined);
    await post(messageView(answer));
    const node = page.locator(`#m${answer.id}`);
    assert.equal(await node.getAttribute("class"), "message assistant");
    assert.equal(await node.locator("pre code.language-python").innerText(), "def add(a: int, b: int) -> int:\n    return a + b\n");
    assert.equal(await node.locator("pre button.copy").innerText(), "Copy");
    assert.equal(await node.locator("strong").innerText(), "REQ-1");
    assert.equal(await page.locator("#m1").innerText(), "What is an atom?");
    assert.equal(await page.locator("section.message").count(), 2);
  });

  it("shows an answer's raw HTML as text, without loading anything", async () => {
    const hostile = transcript.ask("show me html");
    transcript.append(hostile, `<img src="${remote.origin}/x.png"> <script src="${remote.origin}/x.js"></script> ![x](${remote.origin}/x.png)`);
    transcript.finish(hostile, { conversationId: 1, kind: "answer", uri: "file:///c.md" }, undefined);
    await post(messageView(hostile));
    const body = page.locator(`#m${hostile.id} .body`);
    assert.match(await body.innerText(), /<img src=/);
    assert.equal(await body.locator("img, script").count(), 0);
    assert.deepEqual(remote.requests, []);
  });

  it("refuses an inline script and remote resources (CSP)", async () => {
    await page.evaluate((origin) => {
      const inline = document.createElement("script");
      inline.textContent = "window.inlineRan = true;";
      document.body.append(inline);
      const script = document.createElement("script");
      script.src = `${origin}/x.js`;
      document.body.append(script);
      const image = document.createElement("img");
      image.src = `${origin}/x.png`;
      document.body.append(image);
      void fetch(`${origin}/x.png`).catch(() => undefined);
    }, remote.origin);
    await page.waitForFunction(() => (window as unknown as { recorded: Recorded }).recorded.violations.length >= 4);
    const directives = (await recorded()).violations.map((v) => v.directive).sort();
    assert.deepEqual(directives, ["connect-src", "img-src", "script-src-elem", "script-src-elem"]);
    assert.equal(await page.evaluate(() => "inlineRan" in window || "remoteRan" in window), false);
    assert.deepEqual(remote.requests, [], "a request left the page");
  });

  it("posts 'make this a plan' for the finished answer, and the person's messages", async () => {
    await page.locator(`#m${answer.id} button`, { hasText: "Make this a plan" }).click();
    await page.fill("#input", "  build a calc  ");
    await page.click("#send");
    await page.fill("#input", "What else?");
    await page.press("#input", "Control+Enter");
    await page.fill("#input", "   ");
    await page.click("#send");
    assert.deepEqual((await recorded()).posted.slice(1), [
      { type: "makePlan", id: answer.id },
      { type: "send", text: "build a calc" },
      { type: "send", text: "What else?" },
    ]);
    assert.equal(await page.inputValue("#input"), "   ");
  });

  it("replaces the button by a note once the answer is a plan", async () => {
    answer.kind = "plan";
    answer.planId = 7;
    await post(messageView(answer));
    const node = page.locator(`#m${answer.id}`);
    assert.equal(await node.locator("button", { hasText: "Make this a plan" }).count(), 0);
    assert.equal(await node.locator("p.note").innerText(), "Plan 7 created — see the MasterPlan view.");
    assert.deepEqual(pageErrors, []);
  });
});
