// The UI flows in headless Chromium (Debian's, driven by playwright-core)
// against the real `pincer serve` in web mode with the generated tiny model.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { execFileSync, spawn } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { chromium } from "playwright-core";
import { chatFlow, errorFlow, memoryFlow, roundsFlow, screenshotsFlow, soulFlow, stopFlow, trainingFlow, trustFlow } from "./flows.mjs";
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
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PINCER_POWER_SUPPLY: files.powerDir } });
  [url] = await waitForLine(server, /http:\/\/127\.0\.0\.1:\d+\/#pair=[0-9a-f]+/, "pincer serve to print the UI address");
  token = execFileSync(requireEnv("PINCER_BIN"), ["token", "--data-dir", files.dataDir], { encoding: "utf8" }).trim();
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("pageerror", (error) => console.error("page error:", error));
  await page.goto(url);
  await page.waitForSelector('[data-testid="status-model"]:has-text("tiny-qwen3")');
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
