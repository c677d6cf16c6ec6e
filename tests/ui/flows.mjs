// The UI flows both end-to-end suites run: in the real desktop window
// (tauri-driver + WebKitWebDriver) and in headless Chromium against
// `pincer serve` in web mode. Each drives the UI as the owner would and
// checks what the UI shows and what lands on disk.
//
// `ui` is a driver adapter: goto(pane), click(id), fill(id, text),
// text(id), texts(id), count(id), value(id), waitFor(what, check),
// screenshot(name), resize(w, h).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

/** Sends a message to the tiny model and checks the streamed, saved answer. */
export async function chatFlow(ui, { model }) {
  await ui.goto("chat");
  await ui.click("new-session");
  await ui.fill("composer", "Say hello to the tests");
  await ui.click("send");
  await ui.waitFor("a finished answer with its figures", async () => (await ui.count("answer-stats")) === 1);
  const [answer] = await ui.texts("message-assistant");
  assert.ok(answer.replace(/^Pincer/, "").trim().length > 0, "the answer has text");
  const [stats] = await ui.texts("answer-stats");
  assert.ok(stats.includes(model), `the answer names its model: ${stats}`);
  assert.match(stats, /\d+ tokens/, "the answer shows its token count");
  assert.match(stats, /tok\/s/, "the answer shows its speed");
  await ui.waitFor("the new session in the list", async () =>
    (await ui.texts("session")).some((t) => t.includes("Say hello to the tests")),
  );
  // A second turn continues the same session.
  await ui.fill("composer", "And once more");
  await ui.click("send");
  await ui.waitFor("the second answer", async () => (await ui.count("answer-stats")) === 2);
  assert.equal(await ui.count("message-user"), 2);
}

/** Stops an answer midway; the partial answer stays, marked canceled. */
export async function stopFlow(ui) {
  await ui.goto("chat");
  await ui.click("new-session");
  await ui.fill("composer", "Write a long story");
  await ui.click("send");
  await ui.waitFor("the answer to start streaming", async () => (await ui.count("streaming")) === 1);
  await ui.click("stop");
  await ui.waitFor("the stopped answer", async () => (await ui.count("answer-stats")) === 1);
  const [stats] = await ui.texts("answer-stats");
  assert.match(stats, /canceled/, "a stopped answer says so");
}

/** Edits, saves, compares and restores SOUL.md; checks the file on disk. */
export async function soulFlow(ui, workspaceDir) {
  const soulPath = path.join(workspaceDir, "SOUL.md");
  const original = fs.readFileSync(soulPath, "utf8");
  await ui.goto("soul");
  await ui.click("soul-file-SOUL.md");
  await ui.waitFor("the editor to show SOUL.md", async () => (await ui.value("soul-editor")) === original);
  const before = await ui.count("soul-version");
  const edited = original + "\n- Always answer in haiku.\n";
  await ui.fill("soul-editor", edited);
  await ui.waitFor("the unsaved mark", async () => (await ui.count("unsaved")) === 1);
  await ui.click("soul-save");
  await ui.waitFor("the new version in the history", async () => (await ui.count("soul-version")) === before + 1);
  assert.equal(fs.readFileSync(soulPath, "utf8"), edited, "the saved text is on disk");
  assert.match((await ui.texts("soul-message"))[0], /Saved as version/);
  // Compare the oldest version with the editor.
  await ui.clickLast("soul-diff");
  await ui.waitFor("the diff", async () => (await ui.count("diff")) === 1);
  assert.match((await ui.texts("diff"))[0], /\+ - Always answer in haiku\./);
  await ui.screenshot("soul-diff");
  // Restore the oldest version.
  await ui.clickLast("soul-restore");
  await ui.waitFor("the restored version", async () => (await ui.count("soul-version")) === before + 2);
  assert.equal(fs.readFileSync(soulPath, "utf8"), original, "the restored text is on disk");
  assert.equal(await ui.value("soul-editor"), original);
}

/** Bad input shows a clear message and loses nothing typed. */
export async function errorFlow(ui, { workspaceDir, brokenModel }) {
  await ui.goto("models");
  await ui.fill("model-path", brokenModel);
  await ui.click("model-load");
  await ui.waitFor("the model error", async () => (await ui.count("models-error")) === 1);
  assert.match((await ui.texts("models-error"))[0], /not a usable model/);
  assert.equal(await ui.value("model-path"), brokenModel, "the typed path is kept");
  await ui.screenshot("models-error");

  // A SOUL.md that cannot be saved: the temporary file's name is taken by a folder.
  const blocker = path.join(workspaceDir, ".SOUL.md.saving");
  fs.mkdirSync(path.join(blocker, "x"), { recursive: true });
  try {
    await ui.goto("soul");
    await ui.click("soul-file-SOUL.md");
    await ui.waitFor("the editor", async () => (await ui.value("soul-editor")).length > 0);
    const typed = (await ui.value("soul-editor")) + "\nThis text must survive a failed save.\n";
    await ui.fill("soul-editor", typed);
    await ui.click("soul-save");
    await ui.waitFor("the save error", async () => (await ui.count("soul-error")) === 1);
    assert.match((await ui.texts("soul-error"))[0], /cannot save .*SOUL\.md.*your text is still in the editor/i);
    assert.equal(await ui.value("soul-editor"), typed, "the typed text is kept");
    assert.equal(await ui.count("unsaved"), 1);
    await ui.screenshot("soul-error");
  } finally {
    fs.rmSync(blocker, { recursive: true, force: true });
  }
  await ui.click("soul-save");
  await ui.waitFor("the retried save", async () => (await ui.count("soul-error")) === 0 && (await ui.count("unsaved")) === 0);
}

/** What shows that a pane has loaded its data. */
const PANE_READY = {
  chat: async (ui) => (await ui.count("session")) > 0,
  models: async (ui) => (await ui.count("catalog-row")) > 0,
  soul: async (ui) => (await ui.value("soul-editor")).length > 0 && (await ui.count("soul-version")) > 0,
  settings: async (ui) => (await ui.value("gateway-port")) !== "",
};

async function show(ui, pane) {
  await ui.goto(pane);
  await ui.waitFor(`the ${pane} pane with its data`, async () => (await ui.count(`pane-${pane}`)) === 1 && (await PANE_READY[pane](ui)));
}

/** Screenshots of every pane at 1280x800 (light and dark), and at 800x600. */
export async function screenshotsFlow(ui) {
  await ui.resize(1280, 800);
  for (const pane of ["chat", "models", "soul", "settings"]) {
    await show(ui, pane);
    await ui.screenshot(`${pane}-1280x800`);
  }
  await ui.click("theme-dark");
  for (const pane of ["chat", "soul"]) {
    await show(ui, pane);
    await ui.screenshot(`${pane}-dark-1280x800`);
  }
  await show(ui, "settings");
  await ui.click("theme-light");
  await ui.resize(800, 600);
  for (const pane of ["chat", "soul"]) {
    await show(ui, pane);
    await ui.screenshot(`${pane}-800x600`);
  }
  await ui.resize(1280, 800);
}
