// The UI flows in headless Chromium (Debian's, driven by playwright-core)
// against the real `pincer serve` in web mode with the generated tiny model.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { chromium } from "playwright-core";
import { backupsFlow, chatFlow, errorFlow, memoryFlow, roundsFlow, screenshotsFlow, skillsFlow, soulFlow, stopFlow, toolsFlow, trainingFlow, trustFlow } from "./flows.mjs";
import { ROOT, artifactsDir, prepareDataDir, requireEnv, waitFor, waitForLine } from "./harness.mjs";

const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"];

let server, browser, page, url, files, token;
const shots = artifactsDir("web");

function adapter(page) {
  const sel = (id) => `[data-testid="${id}"]`;
  return {
    goto: (pane) => page.click(sel(`nav-${pane}`)),
    click: (id) => page.click(sel(id)),
    clickLast: (id) => page.locator(sel(id)).last().click(),
    fill: (id, text) => page.fill(sel(id), text),
    value: (id) => page.inputValue(sel(id)),
    texts: (id) => page.locator(sel(id)).allInnerTexts(),
    count: (id) => page.locator(sel(id)).count(),
    waitFor,
    screenshot: (name) => page.screenshot({ path: path.join(shots, `${name}.png`) }),
    resize: (width, height) => page.setViewportSize({ width, height }),
    acceptDialogs: () => page.evaluate(() => { window.confirm = () => true; }),
  };
}

before(async () => {
  files = prepareDataDir("web");
  const model = path.join(requireEnv("PINCER_TEST_MODEL"), "model.gguf");
  server = spawn(requireEnv("PINCER_BIN"), ["serve", "--model", model, "--model-id", "tiny-qwen3", "--port", "0",
    "--data-dir", files.dataDir, "--ui", path.join(ROOT, "ui", "dist"), "--max-running", "2"],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PINCER_POWER_SUPPLY: files.powerDir, PINCER_TEST_SCRIPT: files.scriptFile } });
  [url] = await waitForLine(server, /http:\/\/127\.0\.0\.1:\d+\/#pair=[0-9a-f]+/, "pincer serve to print the UI address");
  // With the UI, the chat's shared start (soul, skills, tools: ~9k tokens of
  // the tiny model's vocabulary) is read at start; the flows' first answers
  // then pay only for their questions.
  const ahead = waitForLine(server, /shared start is read ahead/, "the chat's shared start to be read ahead", 240_000);
  token = execFileSync(requireEnv("PINCER_BIN"), ["token", "--data-dir", files.dataDir], { encoding: "utf8" }).trim();
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("pageerror", (error) => console.error("page error:", error));
  await page.goto(url);
  await page.waitForSelector('[data-testid="status-model"]:has-text("tiny-qwen3")');
  await ahead;
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
});

test("chat streams an answer from the tiny model and keeps the session", () => chatFlow(adapter(page), { model: "tiny-qwen3" }));
test("stop generation keeps the partial answer as canceled", () => stopFlow(adapter(page)));
test("SOUL.md: edit, save, diff and restore, with the file on disk", () => soulFlow(adapter(page), files.workspaceDir));
test("bad input shows what to do and loses nothing typed", () => errorFlow(adapter(page), files));
test("memory: search, open, edit on disk, remember, and an answer's sources", () => memoryFlow(adapter(page), files.workspaceDir));
test("trust: a soul changed on disk waits, the audit log shows it, settings list secrets", () => trustFlow(adapter(page), files.workspaceDir));
test("training data: the first-run question, feedback in the chat, judged records", () => trainingFlow(adapter(page)));
test("training: arm with live conditions, train now refused with what is needed, disarm", () => roundsFlow(adapter(page), files.powerDir));
test("backups: now, checked, a chosen folder, a restore at the next start taken back", () => backupsFlow(adapter(page), files));
test("tools: a read runs, a write asks, denied then allowed once", () => toolsFlow(adapter(page), files));
test("tools & skills: tools by class, a new skill waits with its findings, enabled then disabled", () => skillsFlow(adapter(page), files));
test("screenshots of every pane", () => screenshotsFlow(adapter(page)));

test("the control API refuses other origins and host names", async () => {
  const base = new URL(url);
  // The address carried a one-time code, not the token, and the code is used up.
  assert.ok(!url.includes(token));
  const again = await fetch(`${base.origin}/api/pair`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ code: base.hash.replace("#pair=", "") }) });
  assert.equal(again.status, 400, "a pairing code works once");
  const call = (headers) =>
    fetch(`${base.origin}/api/control/app_info`, { method: "POST", headers: { Authorization: `Bearer ${token}`, ...headers }, body: "{}" });
  assert.equal((await call({})).status, 200);
  assert.equal((await call({ Origin: "https://evil.example" })).status, 403);
  assert.equal((await call({ Authorization: "Bearer wrong" })).status, 401);
  // A DNS-rebinding page reaches us under its own host name: refused.
  const status = await new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port: base.port, path: "/", headers: { Host: `evil.example:${base.port}` } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    }).on("error", reject);
  });
  assert.equal(status, 403);
  const csp = (await fetch(`${base.origin}/`)).headers.get("content-security-policy");
  assert.match(csp, /default-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
});

test("a damaged database: the app still opens, and its banner names the damage and the way out", async () => {
  const damaged = prepareDataDir("web-damaged");
  const bin = requireEnv("PINCER_BIN");
  const database = path.join(damaged.dataDir, "pincer.db");
  // A real database (doctor opens and makes it), then the root page of its
  // messages table overwritten, as a failing disk would.
  execFileSync(bin, ["doctor", "--data-dir", damaged.dataDir], { encoding: "utf8" });
  const rootPage = Number(execFileSync("python3", ["-c",
    "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT rootpage FROM sqlite_master WHERE name = 'messages'\").fetchone()[0])",
    database], { encoding: "utf8" }));
  const file = fs.openSync(database, "r+");
  fs.writeSync(file, Buffer.alloc(4096, 0x5a), 0, 4096, (rootPage - 1) * 4096);
  fs.closeSync(file);
  const before = fs.readFileSync(database);
  const model = path.join(requireEnv("PINCER_TEST_MODEL"), "model.gguf");
  const second = spawn(bin, ["serve", "--model", model, "--model-id", "tiny-qwen3", "--port", "0", "--data-dir", damaged.dataDir,
    "--ui", path.join(ROOT, "ui", "dist")],
    { stdio: ["ignore", "pipe", "pipe"] });
  const other = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  try {
    const [address] = await waitForLine(second, /http:\/\/127\.0\.0\.1:\d+\/#pair=[0-9a-f]+/, "pincer serve on the damaged database");
    await other.goto(address);
    const banner = '[data-testid="health-banner"][data-state="damaged"]';
    await other.waitForSelector(banner, { timeout: 30_000 });
    const text = await other.innerText(banner);
    assert.match(text, /damaged/i, text);
    assert.match(text, /pincer backup restore latest/, text);
    await other.screenshot({ path: path.join(shots, "banner-damaged.png") });
    // The way out is one click away, and the file is kept as it was.
    await other.click('[data-testid="health-backups"]');
    await other.waitForSelector('[data-testid="backups"]');
    assert.ok(before.equals(fs.readFileSync(database)), "the damaged file is not written to");
  } finally {
    await other.close();
    second.kill("SIGTERM");
  }
});

