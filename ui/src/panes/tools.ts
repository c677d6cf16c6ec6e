import { LitElement, html, nothing } from "lit";
import { call, commands, errorText } from "../api";
import type { FolderView, SkillView, ToolsOverview } from "../api";

/** What each effect class means for the gate, shown beside the tools. */
const EFFECTS: Record<string, string> = {
  read: "runs: a read inside the granted folders",
  write: "asks you first",
  exec: "asks you first; runs in the sandbox",
  egress: "asks you first; always after outside content",
  secret: "asks you every time",
  propose: "runs: leaves a proposal you accept or reject",
};

/** What a vetting finding means, in words. */
const FINDINGS: Record<string, string> = {
  shellOut: "runs commands",
  network: "reaches the network",
  obfuscated: "obfuscated text",
  permissionClaim: "claims permissions",
};

/** A skill's state in words. */
function stateText(skill: SkillView): string {
  switch (skill.state) {
    case "enabled":
      return skill.usable ? "on" : "on, but cannot work here";
    case "disabled":
      return "off";
    case "new":
      return "new: waits for you";
    case "changed":
      return "changed since you enabled it: waits for you";
    default:
      return skill.state;
  }
}

/** Tools & Skills: the tools and their class, skills with their vetting and on/off, MCP servers and their tools. */
export class ToolsPane extends LitElement {
  static properties = {
    view: { state: true },
    problem: { state: true },
    busy: { state: true },
    folderProblem: { state: true },
  };
  declare view: ToolsOverview | null;
  declare problem: string | null;
  declare busy: boolean;
  declare folderProblem: string | null;

  constructor() {
    super();
    this.view = null;
    this.problem = null;
    this.busy = false;
    this.folderProblem = null;
  }

  createRenderRoot() {
    return this;
  }

  connectedCallback() {
    super.connectedCallback();
    this.load();
  }

  async load() {
    try {
      this.view = await call(commands.toolsOverview());
      this.problem = null;
    } catch (error) {
      this.problem = errorText(error);
    }
  }

  async setEnabled(skill: SkillView, enabled: boolean) {
    if (enabled && skill.findings.length > 0) {
      const flagged = skill.findings.map((f) => `${FINDINGS[f.kind] ?? f.kind} (${f.file}${f.line ? `:${f.line}` : ""})`).join(", ");
      if (!confirm(`${skill.name} was flagged: ${flagged}. Enabling it trusts its instructions at this exact content; every tool call it leads to still goes through the gate. Enable it?`)) return;
    }
    this.busy = true;
    try {
      await call(commands.setSkillEnabled({ name: skill.name, enabled }));
      await this.load();
    } catch (error) {
      this.problem = errorText(error);
    } finally {
      this.busy = false;
    }
  }

  /** Grants the folder typed in the form; a refusal shows beside it. */
  async grantFolder(event: Event) {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const path = (form.elements.namedItem("folder") as HTMLInputElement).value;
    const writable = (form.elements.namedItem("writable") as HTMLInputElement).checked;
    await this.changeFolders(() => commands.grantFolder({ path, writable }));
    if (!this.folderProblem) form.reset();
  }

  async revokeFolder(folder: FolderView) {
    await this.changeFolders(() => commands.revokeFolder({ path: folder.path }));
  }

  async changeFolders(change: () => ReturnType<typeof commands.revokeFolder>) {
    this.busy = true;
    try {
      const folders = await call(change());
      if (this.view) this.view = { ...this.view, folders };
      this.folderProblem = null;
    } catch (error) {
      this.folderProblem = errorText(error);
    } finally {
      this.busy = false;
    }
  }

  renderFolders(v: ToolsOverview | null) {
    return html`<section class="card">
      <h2>Folders</h2>
      <p class="meta">Where the file tools and commands may reach. Reading a granted folder outside the workspace counts as outside content: after it, commands and anything that leaves this machine always ask.</p>
      <table class="security-table" aria-label="Folders">
        ${(v?.folders ?? []).map(
          (f) => html`<tr data-testid="folder" data-path=${f.path}>
            <td><code>${f.path}</code></td>
            <td><span class="badge">${f.workspace ? "workspace" : f.writable ? "read and write" : "read only"}</span>
              ${f.problem ? html`<span class="error" data-testid="folder-problem">${f.problem}</span>` : nothing}</td>
            <td>${f.workspace
              ? html`<span class="meta">always</span>`
              : html`<button class="small" data-testid="folder-revoke" ?disabled=${this.busy} @click=${() => this.revokeFolder(f)}>Revoke</button>`}</td>
          </tr>`,
        )}
      </table>
      <form class="row" data-testid="folder-form" @submit=${(e: Event) => this.grantFolder(e)}>
        <input name="folder" data-testid="folder-path" placeholder="/home/you/Documents" aria-label="Folder to grant" required />
        <label><input type="checkbox" name="writable" data-testid="folder-writable" /> tools may write</label>
        <button class="small primary" type="submit" data-testid="folder-grant" ?disabled=${this.busy}>Grant</button>
      </form>
      ${this.folderProblem ? html`<p class="error" role="alert" data-testid="folder-error">${this.folderProblem}</p>` : nothing}
    </section>`;
  }

  renderSkill(skill: SkillView) {
    const waiting = skill.state === "new" || skill.state === "changed";
    const on = skill.state === "enabled";
    return html`<li class="skill" data-testid="skill" data-name=${skill.name} data-state=${skill.state}>
      <div class="row">
        <strong>${skill.name}</strong>
        <span class="badge">${skill.source}</span>
        <span class="meta ${waiting ? "pending" : ""}" data-testid="skill-state-${skill.name}">${stateText(skill)}</span>
        <span class="spacer"></span>
        <button class="small ${on ? "" : "primary"}" data-testid="skill-toggle-${skill.name}" ?disabled=${this.busy} @click=${() => this.setEnabled(skill, !on)}>
          ${on ? "Disable" : waiting ? "Review and enable" : "Enable"}
        </button>
      </div>
      <p>${skill.description}</p>
      ${skill.ineligible ? html`<p class="error" data-testid="skill-ineligible">${skill.ineligible}</p>` : nothing}
      ${skill.findings.length
        ? html`<ul class="findings" data-testid="skill-findings">
            ${skill.findings.map(
              (f) => html`<li data-testid="skill-finding" data-kind=${f.kind}>
                <strong>${FINDINGS[f.kind] ?? f.kind}</strong> <code>${f.file}${f.line ? `:${f.line}` : ""}</code> <code>${f.excerpt}</code>
              </li>`,
            )}
          </ul>`
        : nothing}
      <p class="meta">
        <code title=${skill.location}>${skill.location}</code> · ${skill.files.length} file(s) ·
        <span class="hash" title=${skill.sha256}>sha256 ${skill.sha256.slice(0, 12)}</span>
        ${skill.license ? html` · ${skill.license}` : nothing}
        ${skill.allowedTools.length ? html` · asks for ${skill.allowedTools.join(", ")} (never granted by itself)` : nothing}
      </p>
    </li>`;
  }

  render() {
    const v = this.view;
    return html`<div class="tools scroll">
      <header class="pane-head">
        <span class="meta">What the agent can call, the skills it may load and the MCP servers it reaches. Every call goes through the gate.</span>
        <span class="spacer"></span>
        <button class="small" data-testid="tools-refresh" @click=${() => this.load()}>Refresh</button>
      </header>
      ${this.problem ? html`<p class="error" role="alert" data-testid="tools-error">${this.problem}</p>` : nothing}
      ${(v?.problems ?? []).map((p) => html`<p class="error" data-testid="tools-problem">${p}</p>`)}
      <section class="card">
        <h2>Tools</h2>
        <p class="meta" data-testid="sandbox">Commands: ${v?.sandbox ?? "…"}</p>
        <table class="security-table" aria-label="Tools">
          ${(v?.tools ?? []).map(
            (t) => html`<tr data-testid="tool" data-name=${t.name} data-effect=${t.effect}>
              <td><code>${t.name}</code></td>
              <td><span class="badge">${t.effect}</span></td>
              <td>${t.description}<br /><span class="meta">${EFFECTS[t.effect] ?? ""}</span></td>
            </tr>`,
          )}
        </table>
      </section>
      ${this.renderFolders(v)}
      <section class="card">
        <h2>Skills</h2>
        <p class="meta">A skill is instructions the agent loads when they fit. A new or changed skill waits until you enable it at its exact content; enabling one never grants a tool.</p>
        <ul class="skills">${(v?.skills ?? []).map((s) => this.renderSkill(s))}</ul>
        ${v && v.skills.length === 0 ? html`<p class="empty">No skills found.</p>` : nothing}
        ${(v?.skipped ?? []).map((s) => html`<p class="error" data-testid="skill-skipped"><code>${s.path}</code>: ${s.problem}</p>`)}
        <p class="meta">Looked for in, first wins: ${(v?.skillRoots ?? []).map((r) => html`<code>${r}</code> `)}</p>
      </section>
      <section class="card">
        <h2>MCP servers</h2>
        ${v && v.mcpServers.length === 0
          ? html`<p class="empty">None configured. Add one with <code>pincer mcp add</code> or in <code>mcp.json</code>.</p>`
          : nothing}
        <table class="security-table" aria-label="MCP servers">
          ${(v?.mcpServers ?? []).map(
            (s) => html`<tr data-testid="mcp-server" data-name=${s.name} data-state=${s.state}>
              <td><strong>${s.name}</strong></td>
              <td><span class="badge">${s.state}</span> <span class="meta">${s.detail}</span></td>
              <td>${s.tools.map((t) => html`<code>${t}</code> `)}</td>
            </tr>`,
          )}
        </table>
      </section>
    </div>`;
  }
}

customElements.define("tools-pane", ToolsPane);
