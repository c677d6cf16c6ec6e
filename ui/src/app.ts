import { LitElement, html, nothing } from "lit";
import { call, commands, errorText, type AnswerSource, type AppInfo, type HealthView } from "./api";
import { applyTheme, loadPrefs, savePref, type Prefs } from "./prefs";
import { inDesktopApp, setWebToken, webToken } from "./transport";
import "./panes/chat";
import "./panes/models";
import "./panes/soul";
import "./panes/memory";
import "./panes/audit";
import "./panes/training";
import "./panes/rounds";
import "./panes/settings";
import "./panes/tools";

/** How often the store's condition is looked at again. */
const HEALTH_EVERY_MS = 5000;

const PANES = [
  { id: "chat", label: "Chat", key: "1" },
  { id: "models", label: "Models", key: "2" },
  { id: "soul", label: "Soul", key: "3" },
  { id: "memory", label: "Memory", key: "4" },
  { id: "audit", label: "Audit", key: "5" },
  { id: "training", label: "Training data", key: "6" },
  { id: "rounds", label: "Training", key: "7" },
  { id: "tools", label: "Tools & Skills", key: "8" },
  { id: "settings", label: "Settings", key: "9" },
] as const;

/** The window: navigation, the current pane, and a status bar. */
export class PincerApp extends LitElement {
  static properties = {
    pane: { state: true },
    info: { state: true },
    problem: { state: true },
    needsToken: { state: true },
    openSource: { state: true },
    health: { state: true },
  };
  declare pane: string;
  declare info: AppInfo | null;
  declare problem: string | null;
  declare needsToken: boolean;
  declare openSource: AnswerSource | null;
  declare health: HealthView | null;
  private healthTimer: number | undefined;

  constructor() {
    super();
    this.pane = "chat";
    this.info = null;
    this.problem = null;
    this.needsToken = !inDesktopApp() && !webToken();
    this.openSource = null;
    this.health = null;
  }

  createRenderRoot() {
    return this;
  }

  async connectedCallback() {
    super.connectedCallback();
    const prefs = await loadPrefs();
    if (PANES.some((p) => p.id === prefs.pane)) this.pane = prefs.pane;
    window.addEventListener("keydown", this.onKey);
    window.addEventListener("pincer:refresh", this.refresh);
    this.addEventListener("pincer:pane", ((event: CustomEvent) => this.show(event.detail)) as EventListener);
    // An answer's source opens in Memory's file viewer at its lines.
    this.addEventListener("pincer:open-memory", ((event: CustomEvent) => {
      this.openSource = event.detail;
      this.show("memory");
    }) as EventListener);
    matchMedia("(prefers-color-scheme: dark)").addEventListener("change", async () => applyTheme((await loadPrefs()).theme));
    if (!this.needsToken) await this.refresh();
    // The store's condition can change at any write (a full disk, damage
    // found): looked at again every few seconds, and after every action.
    this.healthTimer = window.setInterval(() => this.checkHealth(), HEALTH_EVERY_MS);
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    window.removeEventListener("keydown", this.onKey);
    window.removeEventListener("pincer:refresh", this.refresh);
    window.clearInterval(this.healthTimer);
  }

  refresh = async () => {
    try {
      this.info = await call(commands.appInfo());
      this.problem = null;
    } catch (error) {
      this.problem = errorText(error);
      if (String(this.problem).toLowerCase().includes("token")) this.needsToken = !inDesktopApp();
    }
    await this.checkHealth();
  };

  async checkHealth() {
    if (this.needsToken) return;
    try {
      this.health = await call(commands.appHealth());
    } catch {
      // The status bar already names a transport failure.
    }
  }

  renderHealth() {
    const h = this.health;
    if (!h || (h.store === "ok" && h.problems.length === 0)) return nothing;
    // Over a damaged or full store the audit log fails for the same cause:
    // said once, as the store's.
    const title =
      h.store === "damaged"
        ? "Your data is damaged: Pincer stopped writing to it."
        : h.store === "degraded"
          ? "Pincer cannot save right now."
          : "Something Pincer does in the background is failing.";
    return html`<div class="health-banner ${h.store}" role="alert" data-testid="health-banner" data-state=${h.store}>
      <strong>${title}</strong>
      ${h.cause ? html`<span data-testid="health-cause">${h.cause}</span>` : nothing}
      ${h.problems.filter((p) => h.store === "ok" || p.area !== "audit").map((p) => html`<span data-testid="health-problem" data-area=${p.area}>${p.message}${p.times > 1 ? ` (${p.times} times)` : ""}</span>`)}
      ${h.store === "damaged" ? html`<button class="small" data-testid="health-backups" @click=${() => this.show("settings")}>Backups</button>` : nothing}
    </div>`;
  }

  onKey = (event: KeyboardEvent) => {
    if ((event.ctrlKey || event.metaKey) && !event.shiftKey) {
      const pane = PANES.find((p) => p.key === event.key);
      if (pane) {
        event.preventDefault();
        this.show(pane.id);
      }
    }
  };

  show(pane: string) {
    if (pane !== "memory") this.openSource = null;
    this.pane = pane;
    savePref("pane", pane as Prefs["pane"]);
    this.refresh();
  }

  async toggleHalt() {
    if (!this.info) return;
    await call(this.info.halted ? commands.resumeAgent() : commands.haltAgent());
    await this.refresh();
  }

  renderTokenPrompt() {
    const submit = (event: Event) => {
      event.preventDefault();
      const input = (event.target as HTMLFormElement).elements.namedItem("token") as HTMLInputElement;
      setWebToken(input.value);
      this.needsToken = false;
      this.refresh();
    };
    return html`<main class="token-prompt">
      <form @submit=${submit}>
        <h1>Pincer</h1>
        <p>This page talks to <code>pincer serve</code>. Paste the API token that <code>pincer token</code> prints.</p>
        <input name="token" type="password" autocomplete="off" placeholder="pincer-…" aria-label="API token" required />
        <button class="primary" type="submit">Connect</button>
        ${this.problem ? html`<p class="error" role="alert">${this.problem}</p>` : nothing}
      </form>
    </main>`;
  }

  render() {
    if (this.needsToken) return this.renderTokenPrompt();
    const model = this.info?.model;
    return html`
      <nav class="sidebar" aria-label="Panes">
        <div class="brand"><img src="/icon.png" alt="" width="28" height="28" /><span>Pincer</span></div>
        ${PANES.map(
          (p) => html`<button
            class="nav ${this.pane === p.id ? "active" : ""}"
            data-testid="nav-${p.id}"
            aria-current=${this.pane === p.id ? "page" : "false"}
            title="${p.label} (Ctrl+${p.key})"
            @click=${() => this.show(p.id)}
          >
            ${p.label}<kbd>${p.key}</kbd>
          </button>`,
        )}
      </nav>
      ${this.renderHealth()}
      <main class="pane" data-testid="pane-${this.pane}">
        ${this.pane === "chat" ? html`<chat-pane .info=${this.info}></chat-pane>` : nothing}
        ${this.pane === "models" ? html`<models-pane .info=${this.info}></models-pane>` : nothing}
        ${this.pane === "soul" ? html`<soul-pane></soul-pane>` : nothing}
        ${this.pane === "memory" ? html`<memory-pane .open=${this.openSource}></memory-pane>` : nothing}
        ${this.pane === "audit" ? html`<audit-pane></audit-pane>` : nothing}
        ${this.pane === "training" ? html`<training-pane></training-pane>` : nothing}
        ${this.pane === "rounds" ? html`<rounds-pane></rounds-pane>` : nothing}
        ${this.pane === "tools" ? html`<tools-pane></tools-pane>` : nothing}
        ${this.pane === "settings" ? html`<settings-pane .info=${this.info}></settings-pane>` : nothing}
      </main>
      <footer class="status" data-testid="status">
        <span class="dot ${model ? (this.info?.halted ? "halted" : "ready") : "idle"}"></span>
        <span data-testid="status-model">${model ? `${model.id} · ${model.details}` : "No model loaded"}</span>
        ${this.info?.halted ? html`<strong class="halted-label">Agent halted</strong>` : nothing}
        <span class="spacer"></span>
        ${this.problem ? html`<span class="error" role="alert">${this.problem}</span>` : nothing}
        <span>${this.info ? (this.info.mode === "desktop" ? "Desktop" : "Web") + ` · v${this.info.version}` : ""}</span>
        <button class="small" data-testid="halt-toggle" @click=${() => this.toggleHalt()}>
          ${this.info?.halted ? "Resume agent" : "Halt agent"}
        </button>
      </footer>
    `;
  }
}

customElements.define("pincer-app", PincerApp);
