// UI preferences (theme, last pane): tauri-plugin-store in the desktop app,
// the browser's localStorage in web mode.
import { inDesktopApp } from "./transport";

export interface Prefs {
  theme: "system" | "light" | "dark";
  pane: string;
}

const DEFAULTS: Prefs = { theme: "system", pane: "chat" };
let storePromise: Promise<any> | null = null;

function store(): Promise<any> {
  storePromise ??= import("@tauri-apps/plugin-store").then((m) => m.load("ui-prefs.json", { autoSave: true, defaults: {} }));
  return storePromise;
}

export async function loadPrefs(): Promise<Prefs> {
  try {
    if (inDesktopApp()) {
      const s = await store();
      return { ...DEFAULTS, theme: (await s.get("theme")) ?? DEFAULTS.theme, pane: (await s.get("pane")) ?? DEFAULTS.pane };
    }
    return { ...DEFAULTS, ...JSON.parse(localStorage.getItem("pincer.prefs") ?? "{}") };
  } catch {
    return { ...DEFAULTS };
  }
}

export async function savePref<K extends keyof Prefs>(key: K, value: Prefs[K]): Promise<void> {
  try {
    if (inDesktopApp()) {
      await (await store()).set(key, value);
      return;
    }
    const current = JSON.parse(localStorage.getItem("pincer.prefs") ?? "{}");
    localStorage.setItem("pincer.prefs", JSON.stringify({ ...current, [key]: value }));
  } catch {
    // A preference that cannot be saved is not worth interrupting the owner.
  }
}

/** Applies a theme to the document. */
export function applyTheme(theme: Prefs["theme"]): void {
  const dark = theme === "dark" || (theme === "system" && matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
}
