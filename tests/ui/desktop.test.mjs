// The UI flows in the real desktop app: the built Tauri binary in its own
// WebKitGTK window, driven through tauri-driver and Debian's WebKitWebDriver
// (run under Xvfb by scripts/test.sh).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { Builder, By } from "selenium-webdriver";
import { backupsFlow, chatFlow, errorFlow, memoryFlow, roundsFlow, screenshotsFlow, skillsFlow, soulFlow, stopFlow, toolsFlow, trainingFlow, trustFlow } from "./flows.mjs";
import { artifactsDir, prepareDataDir, requireEnv, waitFor, waitForLine } from "./harness.mjs";

const DRIVER_PORT = Number(process.env.TAURI_DRIVER_PORT ?? 4444);
let tauriDriver, driver, files;
const shots = artifactsDir("desktop");

function adapter(driver) {
  const sel = (id) => `[data-testid="${id}"]`;
  const all = (id) => driver.findElements(By.css(sel(id)));
  return {
    goto: async (pane) => (await driver.findElement(By.css(sel(`nav-${pane}`)))).click(),
    // Scrolled into view first: WebKitWebDriver refuses elements below a
    // scrolled pane's fold as "not interactable".
    click: async (id) => {
      const element = await driver.findElement(By.css(sel(id)));
      await driver.executeScript("arguments[0].scrollIntoView({ block: 'center' })", element);
      await element.click();
    },
    clickLast: async (id) => {
      const element = (await all(id)).at(-1);
      await driver.executeScript("arguments[0].scrollIntoView({ block: 'center' })", element);
      await element.click();
    },
    fill: (id, text) =>
      driver.executeScript(
        "const e = document.querySelector(arguments[0]); e.focus(); e.value = arguments[1];" +
          "e.dispatchEvent(new Event('input', { bubbles: true }));",
        sel(id),
        text,
      ),
    value: (id) => driver.executeScript("return document.querySelector(arguments[0]).value", sel(id)),
    texts: (id) => driver.executeScript("return [...document.querySelectorAll(arguments[0])].map((e) => e.innerText)", sel(id)),
    count: async (id) => (await all(id)).length,
    waitFor,
    screenshot: async (name) => fs.writeFileSync(path.join(shots, `${name}.png`), await driver.takeScreenshot(), "base64"),
    resize: (width, height) => driver.manage().window().setRect({ width, height }),
    acceptDialogs: () => driver.executeScript("window.confirm = () => true"),
  };
}

before(async () => {
  const model = path.join(requireEnv("PINCER_TEST_MODEL"), "model.gguf");
  files = prepareDataDir("desktop", { lastModel: model });
  tauriDriver = spawn(process.env.TAURI_DRIVER ?? "tauri-driver", ["--port", String(DRIVER_PORT), "--native-driver", "/usr/bin/WebKitWebDriver"], {
    env: { ...process.env, PINCER_DATA_DIR: files.dataDir, PINCER_POWER_SUPPLY: files.powerDir, PINCER_TEST_SCRIPT: files.scriptFile },
    stdio: ["ignore", "pipe", "pipe"],
  });
  await waitFor("tauri-driver to listen", () =>
    new Promise((resolve) => {
      const socket = net.connect(DRIVER_PORT, "127.0.0.1", () => { socket.end(); resolve(true); });
      socket.on("error", () => resolve(false));
    }), 30_000);
  driver = await new Builder()
    .usingServer(`http://127.0.0.1:${DRIVER_PORT}/`)
    .withCapabilities({ browserName: "wry", "tauri:options": { application: requireEnv("PINCER_DESKTOP_BIN") } })
    .build();
  await driver.manage().window().setRect({ width: 1280, height: 800 });
  // The last used model loads in the background after the window opens.
  await waitFor("the model to load", async () =>
    (await driver.findElement(By.css('[data-testid="status-model"]')).getText()).includes("model"), 120_000);
});

after(async () => {
  await driver?.quit().catch((error) => console.error(`# the driver could not close the app window: ${error.message}`));
  tauriDriver?.kill("SIGTERM");
  stopStrayApp();
});

// The app this file launched, if the driver left it running (seen once after
// every flow had passed): it inherits the driver's output pipes, so it would
// keep this test process waiting for ever. Only a process started for this
// run's data folder is stopped, never an owner's own Pincer.
function stopStrayApp() {
  for (const pid of fs.readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    let environ, exe;
    try {
      environ = fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      exe = fs.readlinkSync(`/proc/${pid}/exe`);
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    if (environ.includes(`PINCER_DATA_DIR=${files?.dataDir}`) && exe.endsWith("pincer-desktop")) {
      console.error(`# the app (pid ${pid}) was still running after the driver quit; stopping it`);
      process.kill(Number(pid), "SIGTERM");
    }
  }
}

test("chat streams an answer from the tiny model in the app window", () => chatFlow(adapter(driver), { model: "model" }));
test("stop generation in the app window", () => stopFlow(adapter(driver)));
test("SOUL.md: edit, save, diff and restore in the app window", () => soulFlow(adapter(driver), files.workspaceDir));
test("bad input in the app window shows what to do and loses nothing typed", () => errorFlow(adapter(driver), files));
test("tools in the app window: a read runs, a write asks, denied then allowed once", () => toolsFlow(adapter(driver), files));

test("the gateway reports a port in use, then serves on a free one", async () => {
  const ui = adapter(driver);
  const blocker = net.createServer().listen(0, "127.0.0.1");
  await new Promise((resolve) => blocker.once("listening", resolve));
  const busyPort = blocker.address().port;
  try {
    await ui.goto("settings");
    await waitFor("the settings to load", async () => (await ui.value("gateway-port")) !== "");
    await ui.fill("gateway-port", String(busyPort));
    await ui.click("gateway-enabled");
    await waitFor("the port-in-use message", async () => /in use/.test((await ui.texts("gateway-status"))[0] ?? ""));
    await ui.screenshot("settings-port-in-use");
    const free = await new Promise((resolve) => {
      const probe = net.createServer().listen(0, "127.0.0.1", () => {
        const port = probe.address().port;
        probe.close(() => resolve(port));
      });
    });
    await ui.fill("gateway-port", String(free));
    await ui.click("gateway-apply");
    await waitFor("the gateway to listen", async () => (await ui.texts("gateway-status"))[0]?.includes(`127.0.0.1:${free}`));
    const health = await fetch(`http://127.0.0.1:${free}/health`).then((r) => r.json());
    assert.equal(health.status, "ok");
  } finally {
    blocker.close();
  }
});

test("memory: search, open, edit on disk, remember, and an answer's sources in the app window", () => memoryFlow(adapter(driver), files.workspaceDir));
test("trust: a soul changed on disk waits, the audit log shows it, settings list secrets in the app window", () => trustFlow(adapter(driver), files.workspaceDir));
test("training data: the first-run question, feedback in the chat, judged records in the app window", () => trainingFlow(adapter(driver)));
test("training: arm with live conditions, train now refused with what is needed, disarm in the app window", () => roundsFlow(adapter(driver), files.powerDir));
test("backups: now, checked, a chosen folder, a restore at the next start taken back in the app window", () => backupsFlow(adapter(driver), files));
test("tools & skills: tools by class, a new skill waits with its findings, enabled then disabled in the app window", () => skillsFlow(adapter(driver), files));
test("screenshots of every pane in the app window", () => screenshotsFlow(adapter(driver)));
