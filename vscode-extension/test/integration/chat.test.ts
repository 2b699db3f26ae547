/**
 * The chat panel's path without VS Code: `devmatrix.chat` on the real language server with a
 * work-done token, the answer streamed by the scripted model as several progress reports that the
 * panel joins, rendered the way the panel renders it, then "make this a plan"
 * (`devmatrix.plan.fromFile` on the answer's Markdown).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ExecuteCommandRequest } from "vscode-languageserver-protocol/node";
import { ChatTranscript, messageView } from "../../src/chatModel";
import { ServerCommand, type ChatResult, type PlanResult } from "../../src/contract";
import { toInitializationOptions } from "../../src/settings";
import { REPO_ROOT, repoPython } from "../repo";
import { LspSession, processesUsing } from "./session";

const python = repoPython();
const ANSWER = "An atom is one top-level symbol:\n\n```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```\n";

describe("chat through devmatrix-lsp from Node", { skip: python ? false : "no .venv in the repository (run make install)" }, () => {
  let session: LspSession;
  let dataDir: string;
  const transcript = new ChatTranscript();
  let answerUri = "";

  before(async () => {
    const workspace = mkdtempSync(path.join(tmpdir(), "dmx-vscode-chat-"));
    dataDir = path.join(workspace, ".data");
    const calc = JSON.parse(readFileSync(path.join(REPO_ROOT, "tests", "fixtures", "execution", "calc_answers.json"), "utf8"));
    const answers = path.join(workspace, "answers.json");
    const extra = [
      { purpose: "intent", contains: "What", answer: { intent: "question" } },
      { purpose: "chat", answer: ANSWER },
    ];
    writeFileSync(answers, JSON.stringify({ answers: [...extra, ...calc.answers] }));
    session = new LspSession(python as string, workspace);
    await session.initialize(toInitializationOptions({ "model.provider": "scripted", scriptedAnswers: answers, dataDir: ".data" }, undefined, workspace));
  });

  after(async () => {
    await session?.close();
    const left = processesUsing(dataDir);
    left.forEach((pid) => process.kill(pid, "SIGKILL"));
    assert.deepEqual(left, [], "the private backend outlived the language server");
  });

  it("answers a question as Markdown the panel renders with its code block", async () => {
    const answer = transcript.ask("What is an atom?");
    const token = "chat-1";
    session.watchProgress(token);
    const result = (await session.connection.sendRequest(ExecuteCommandRequest.type, {
      command: ServerCommand.chat,
      arguments: [{ text: "What is an atom?" }],
      workDoneToken: token,
    })) as ChatResult;
    assert.equal(result.kind, "answer");
    assert.match(result.uri, /^file:.*\.md$/);
    answerUri = result.uri;
    const reports = session.progress
      .filter((x) => x.token === token)
      .map((p) => p.value as { kind: string; message?: string })
      .filter((value) => value.kind === "report" && value.message)
      .map((value) => value.message as string);
    assert.ok(reports.length > 1, `the answer arrived in ${reports.length} report(s), not streamed: ${JSON.stringify(reports)}`);
    reports.forEach((piece) => transcript.append(answer, piece));
    assert.equal(answer.text, ANSWER, "the streamed reports add up to the answer");
    transcript.finish(answer, result, readFileSync(fileURLToPath(result.uri), "utf8"));
    const view = messageView(answer);
    assert.match(view.html, /<pre><code class="language-python">def add\(a: int, b: int\) -&gt; int:/);
    assert.equal(view.canMakePlan, true);
    assert.notEqual(transcript.conversationId, undefined);
  });

  it("makes the answer a plan (devmatrix.plan.fromFile on its Markdown)", async () => {
    const plan = await session.execute<PlanResult>(ServerCommand.planFromFile, { uri: answerUri });
    assert.equal(typeof plan.planId, "number");
    assert.match(readFileSync(fileURLToPath(plan.uri), "utf8"), /Addition/);
  });
});
