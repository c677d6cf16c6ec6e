// Shared set-up for the UI suites: a fresh data folder, a broken model
// file, where screenshots go, and polling for a condition with a deadline.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "../..");

export function requireEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; run the suite through scripts/test.sh`);
  return value;
}

/** A data folder whose settings point at the test model, and a truncated GGUF. */
/** The fact only MEMORY.md knows, written before the app starts. */
export const MEMORY_FACT = "The spare key for the shed is under the third flowerpot.";

export function prepareDataDir(label, { lastModel } = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `pincer-ui-${label}-`));
  if (lastModel) fs.writeFileSync(path.join(dataDir, "settings.json"), JSON.stringify({ lastModel, gatewayEnabled: false }));
  fs.mkdirSync(path.join(dataDir, "workspace"), { recursive: true });
  fs.writeFileSync(path.join(dataDir, "workspace", "MEMORY.md"), `# Home\n\n## Garden shed\n\n${MEMORY_FACT}\n`);
  const brokenModel = path.join(dataDir, "broken.gguf");
  const gguf = fs.readdirSync(requireEnv("PINCER_TEST_MODEL")).find((f) => f.endsWith(".gguf"));
  const bytes = fs.readFileSync(path.join(requireEnv("PINCER_TEST_MODEL"), gguf));
  fs.writeFileSync(brokenModel, bytes.subarray(0, 4096));
  const powerDir = path.join(dataDir, "power_supply");
  setPower(powerDir, false);
  // Scripted answers (the engine's test setting, PINCER_TEST_SCRIPT): none
  // until a flow writes some, so other flows meet the model as it is.
  const scriptFile = path.join(dataDir, "test-script.json");
  fs.writeFileSync(scriptFile, "[]");
  // A real MCP server process (the official Python SDK), started with the app.
  const notesServer = path.join(ROOT, "crates", "pincer-mcp", "tests", "servers", "notes_server.py");
  fs.writeFileSync(path.join(dataDir, "mcp.json"), JSON.stringify({
    mcp: { servers: { notes: { command: path.join(ROOT, ".venv", "bin", "python"), args: [notesServer] } } },
  }));
  return { dataDir, workspaceDir: path.join(dataDir, "workspace"), brokenModel, powerDir, scriptFile };
}

/** A laptop's power supplies as the kernel lays them out, plugged in or not. */
export function setPower(powerDir, plugged) {
  const supplies = {
    AC: { type: "Mains", online: plugged ? "1" : "0" },
    BAT0: { type: "Battery", scope: "System", status: plugged ? "Charging" : "Discharging" },
  };
  for (const [name, fields] of Object.entries(supplies)) {
    fs.mkdirSync(path.join(powerDir, name), { recursive: true });
    for (const [field, value] of Object.entries(fields)) fs.writeFileSync(path.join(powerDir, name, field), `${value}\n`);
  }
}

export function artifactsDir(label) {
  const base = process.env.PINCER_UI_ARTIFACTS ?? path.join(ROOT, "target", "ui-artifacts");
  const dir = path.join(base, label);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Polls `check` until it is true; fails naming `what` after `timeoutMs`. */
export async function waitFor(what, check, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${lastError}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Resolves once `stream` prints a line matching `pattern`. */
export function waitForLine(child, pattern, what, timeoutMs = 120_000) {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; output so far:\n${seen}`)), timeoutMs);
    const onData = (chunk) => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what}: the process exited with ${code}; output:\n${seen}`));
    });
  });
}
