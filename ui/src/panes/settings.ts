import { LitElement, html, nothing } from "lit";
import { call, commands, errorText } from "../api";
import type { AppInfo, SecurityView, SettingsView } from "../api";
import { applyTheme, loadPrefs, savePref, type Prefs } from "../prefs";
import "./backups";

/** Data folder, backups, gateway switch and port, the API token, security, the theme. */
export class SettingsPane extends LitElement {
  static properties = {
    info: { attribute: false },
    settings: { state: true },
    port: { state: true },
    token: { state: true },
    theme: { state: true },
    problem: { state: true },
    notice: { state: true },
    security: { state: true },
  };
  declare security: SecurityView | null;
  declare info: AppInfo | null;
  declare settings: SettingsView | null;
  declare port: string;
  declare token: string | null;
  declare theme: Prefs["theme"];
  declare problem: string | null;
  declare notice: string | null;
  private portEdited = false;

  constructor() {
    super();
    this.settings = null;
    this.port = "";
    this.token = null;
    this.theme = "system";
    this.problem = null;
    this.notice = null;
    this.security = null;
  }

  createRenderRoot() {
    return this;
  }

  async connectedCallback() {
    super.connectedCallback();
    this.theme = (await loadPrefs()).theme;
    await this.refresh();
  }

  async refresh() {
    try {
      this.settings = await call(commands.getSettings());
      // Never overwrite a port the owner is typing.
      if (!this.portEdited) this.port = String(this.settings.gatewayPort);
      this.security = await call(commands.securityOverview());
    } catch (error) {
      this.problem = errorText(error);
    }
  }

  async applyGateway(enabled: boolean) {
    const port = Number(this.port);
    if (!Number.isInteger(port) || port < 1024 || port > 65535) {
      this.problem = "The port must be a whole number from 1024 to 65535.";
      return;
    }
    try {
      this.settings = await call(commands.updateGateway({ enabled, port }));
      this.portEdited = false;
      this.problem = null;
      this.notice = this.info?.mode === "web" ? "Saved. `pincer serve` uses its --port; the desktop app uses this one." : "Saved.";
      // The desktop shell restarts the gateway; read back where it listens.
      for (let tries = 0; tries < 20 && this.info?.mode === "desktop"; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        await this.refresh();
        const s = this.settings as SettingsView | null;
        const settled = !enabled ? !s?.gatewayAddress : s?.gatewayAddress?.includes(`:${port}/`) || s?.gatewayError?.includes(String(port));
        if (settled) break;
      }
    } catch (error) {
      this.problem = errorText(error);
    }
  }

  async reveal() {
    this.token = this.token ? null : await call(commands.revealToken());
  }

  async rotate() {
    if (!confirm("Every client using the current token will need the new one. Rotate?")) return;
    try {
      this.token = await call(commands.rotateToken());
      if (this.info?.mode === "web") sessionStorage.setItem("pincer.token", this.token);
      this.notice = "A new token is in use; the old one no longer works.";
    } catch (error) {
      this.problem = errorText(error);
    }
  }

  async copy() {
    const token = this.token ?? (await call(commands.revealToken()));
    try {
      await navigator.clipboard.writeText(token);
      this.notice = "Token copied.";
    } catch {
      this.token = token;
      this.notice = "Copying is not allowed here; select the token and copy it.";
    }
  }

  async setSealed(on: boolean) {
    const ask = on
      ? "Seal the protected files? They are encrypted on disk with a key in the OS keychain: other programs (and your text editor) see only sealed text, and you edit them in Soul. MEMORY.md leaves the search index and goes into every prompt instead."
      : "Unseal the protected files? They are written back as plain markdown any program can read.";
    if (!confirm(ask)) return;
    try {
      this.security = await call(commands.setSoulSealed({ on }));
      this.notice = on ? "The protected files and their history are sealed." : "The protected files are plain markdown again.";
      this.problem = null;
    } catch (error) {
      this.problem = errorText(error);
    }
  }

  setTheme(theme: Prefs["theme"]) {
    this.theme = theme;
    applyTheme(theme);
    savePref("theme", theme);
  }

  renderSecurity() {
    const v = this.security;
    if (!v) return nothing;
    const audit = v.audit;
    return html`<section class="card" data-testid="security">
      <h2>Security</h2>
      <p>Secrets are kept in the <strong data-testid="vault-kind">${v.vault}</strong>, never in a file; values are never shown here.
        Add one with <code>pincer secrets set provider/NAME</code>.</p>
      <table class="security-table" aria-label="Secrets">
        ${v.secrets.map((secret) => html`<tr data-testid="secret"><td><code>${secret.name}</code></td><td>${secret.purpose}</td></tr>`)}
      </table>
      <h3>Protected files</h3>
      <p>A change made to these outside Pincer waits in Soul for you to accept or revert before the agent uses it.</p>
      <p class="row">
        <span data-testid="seal-state">${v.sealed ? "Sealed at rest: encrypted with a key in the OS keychain." : "Plain markdown on disk."}</span>
        <button class="small" data-testid="seal-toggle" @click=${() => this.setSealed(!v.sealed)}>${v.sealed ? "Unseal" : "Seal"}</button>
      </p>
      <table class="security-table" aria-label="Protected files">
        ${v.files.map((f) => html`<tr data-testid="file-integrity" data-state=${f.state} data-sealed=${f.sealed ? "yes" : "no"}><td><code>${f.file}</code></td>
          <td class=${f.state === "intact" ? "" : "error"}>${f.state}${f.sealed ? " · sealed" : ""}${f.pending ? html` · ${f.pending} change(s) waiting in Soul` : ""}</td>
          <td><code class="hash" title="SHA-256 of the accepted version">${f.sha256.slice(0, 16)}…</code></td></tr>`)}
      </table>
      <h3>Audit log</h3>
      <p data-testid="security-audit">${audit.brokenAt != null
        ? html`<span class="error">Broken at record ${audit.brokenAt}: ${audit.reason}</span>`
        : html`Intact: ${audit.verified} records verified${audit.signedUpTo != null ? `, signed up to record ${audit.signedUpTo}` : ""}.`}</p>
    </section>`;
  }

  render() {
    const s = this.settings;
    return html`<div class="settings scroll">
      ${this.problem ? html`<p class="error banner" role="alert" data-testid="settings-error">${this.problem}</p>` : nothing}
      ${this.notice ? html`<p class="notice banner">${this.notice}</p>` : nothing}
      <section class="card">
        <h2>Data</h2>
        <dl>
          <dt>Data folder</dt><dd><code data-testid="data-dir">${s?.dataDir ?? ""}</code></dd>
          <dt>Workspace (soul files)</dt><dd><code>${s?.workspaceDir ?? ""}</code></dd>
        </dl>
        <p class="meta">Set with <code>--data-dir</code> or <code>PINCER_DATA_DIR</code>.</p>
      </section>
      <backups-card .info=${this.info}></backups-card>
      <section class="card">
        <h2>Gateway</h2>
        <p>The OpenAI-compatible API for other tools, on this machine only (loopback), behind the token.</p>
        <label class="check"><input type="checkbox" data-testid="gateway-enabled" .checked=${s?.gatewayEnabled ?? false}
          @change=${(e: Event) => this.applyGateway((e.target as HTMLInputElement).checked)} /> Serve the API</label>
        <form class="row" @submit=${(e: Event) => { e.preventDefault(); this.applyGateway(s?.gatewayEnabled ?? true); }}>
          <label for="port">Port</label>
          <input id="port" data-testid="gateway-port" inputmode="numeric" .value=${this.port} @input=${(e: Event) => {
            this.port = (e.target as HTMLInputElement).value;
            this.portEdited = true;
          }} />
          <button class="small" type="submit" data-testid="gateway-apply">Apply</button>
        </form>
        <p data-testid="gateway-status">${s?.gatewayAddress ? html`Listening at <code>${s.gatewayAddress}</code>` : s?.gatewayError ? html`<span class="error">${s.gatewayError}</span>` : "Not running."}</p>
      </section>
      <section class="card">
        <h2>API token</h2>
        <div class="row">
          <code class="token" data-testid="token">${this.token ?? "••••••••••••••••••••••••"}</code>
          <button class="small" data-testid="token-reveal" @click=${() => this.reveal()}>${this.token ? "Hide" : "Reveal"}</button>
          <button class="small" @click=${() => this.copy()}>Copy</button>
          <button class="small danger" data-testid="token-rotate" @click=${() => this.rotate()}>Rotate</button>
        </div>
      </section>
      ${this.renderSecurity()}
      <section class="card">
        <h2>Appearance</h2>
        <div class="row" role="radiogroup" aria-label="Theme">
          ${(["system", "light", "dark"] as const).map((t) => html`<label class="check"><input type="radio" name="theme" data-testid="theme-${t}"
            .checked=${this.theme === t} @change=${() => this.setTheme(t)} /> ${t[0].toUpperCase() + t.slice(1)}</label>`)}
        </div>
      </section>
    </div>`;
  }
}

customElements.define("settings-pane", SettingsPane);
