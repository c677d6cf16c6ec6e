import { LitElement, html, nothing } from "lit";
import { unsafeHTML } from "lit/directives/unsafe-html.js";
import { diffLines } from "diff";
import { call, commands, errorText } from "../api";
import type { SoulChange, SoulFile, SoulVersionView } from "../api";
import { renderMarkdown } from "../markdown";

const FILES = ["SOUL.md", "IDENTITY.md", "USER.md", "AGENTS.md", "TOOLS.md", "MEMORY.md", "BOOTSTRAP.md"];

/** The soul editor: files, a rendered preview, version history with diffs and restore. */
export class SoulPane extends LitElement {
  static properties = {
    file: { state: true },
    loaded: { state: true },
    text: { state: true },
    history: { state: true },
    comparing: { state: true },
    message: { state: true },
    problem: { state: true },
    saving: { state: true },
  };
  declare file: string;
  declare loaded: SoulFile | null;
  declare text: string;
  declare history: SoulVersionView[];
  declare comparing: SoulVersionView | null;
  declare message: string | null;
  declare problem: string | null;
  declare saving: boolean;
  /** Counts opens, so only the newest one's answer is applied. */
  private opening = 0;

  constructor() {
    super();
    this.file = "SOUL.md";
    this.loaded = null;
    this.text = "";
    this.history = [];
    this.comparing = null;
    this.message = null;
    this.problem = null;
    this.saving = false;
  }

  createRenderRoot() {
    return this;
  }

  connectedCallback() {
    super.connectedCallback();
    this.addEventListener("keydown", this.onKey);
    this.open(this.file);
  }

  onKey = (event: KeyboardEvent) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "s") {
      event.preventDefault();
      this.save();
    }
  };

  get dirty() {
    return this.loaded !== null && this.text !== this.loaded.content;
  }

  async open(file: string) {
    if (this.dirty && !confirm(`Discard your unsaved changes to ${this.file}?`)) return;
    const ticket = ++this.opening;
    const sameFile = this.file === file && this.loaded !== null;
    const textBefore = this.text;
    this.file = file;
    this.comparing = null;
    this.message = null;
    try {
      const loaded = await call(commands.readSoulFile({ file }));
      // A later open replaced this one, or the owner typed into this file
      // while it was read again: what they typed stays.
      if (ticket !== this.opening || (sameFile && this.text !== textBefore)) return;
      this.loaded = loaded;
      this.text = loaded.content;
      this.problem = null;
      if (this.loaded.changedOutside) {
        this.message = `${file} was changed outside Pincer. The agent keeps using the accepted text until you accept or revert the change below.`;
      }
    } catch (error) {
      if (ticket !== this.opening) return;
      this.loaded = null;
      this.text = "";
      this.problem = errorText(error);
    }
    await this.loadHistory();
  }

  async loadHistory() {
    try {
      this.history = await call(commands.soulHistory({ file: this.file }));
    } catch (error) {
      this.problem = errorText(error);
    }
  }

  async save() {
    if (this.saving) return;
    this.saving = true;
    try {
      const version = await call(commands.saveSoulFile({ file: this.file, content: this.text }));
      this.loaded = { ...(this.loaded as SoulFile), content: this.text, versionId: version.id, changedOutside: false };
      this.problem = null;
      this.message = `Saved as version ${version.id}. The agent uses it from the next message.`;
      await this.loadHistory();
    } catch (error) {
      // The typed text stays in the editor.
      this.problem = errorText(error);
      this.message = null;
    } finally {
      this.saving = false;
    }
  }

  async restore(version: SoulVersionView) {
    if (this.dirty && !confirm("Restoring replaces your unsaved changes. Continue?")) return;
    try {
      const restored = await call(commands.restoreSoulVersion({ versionId: version.id }));
      this.loaded = { ...(this.loaded as SoulFile), content: restored.content, versionId: restored.id };
      this.text = restored.content;
      this.comparing = null;
      this.problem = null;
      this.message = `Restored version ${version.id} as version ${restored.id}.`;
      await this.loadHistory();
    } catch (error) {
      this.problem = errorText(error);
    }
  }

  /** Accepts or rejects a change waiting for the owner. */
  async decide(change: SoulChange, accept: boolean) {
    if (this.dirty && !confirm("This replaces your unsaved changes. Continue?")) return;
    try {
      this.loaded = await call(commands.decideSoulChange({ id: change.id, accept }));
      this.text = this.loaded.content;
      this.problem = null;
      const what = change.origin === "external" ? "change made on disk" : "agent's proposal";
      this.message = accept ? `Accepted the ${what}; the agent uses it from the next message.` : change.origin === "external" ? "Reverted the file to its accepted text." : "Rejected the agent's proposal.";
      await this.loadHistory();
    } catch (error) {
      this.problem = errorText(error);
    }
  }

  renderPending(change: SoulChange) {
    const parts = diffLines(this.loaded?.content ?? "", change.content);
    const who = change.origin === "external" ? "Changed on disk by another program" : `Proposed by the agent: ${change.reason}`;
    return html`<section class="pending card" data-testid="soul-pending" data-origin=${change.origin} aria-label="Change waiting for you">
      <header><strong>${who}</strong> <span class="meta">${new Date((change.createdAt ?? 0) * 1000).toLocaleString()}</span>
        <span class="spacer"></span>
        <button class="small primary" data-testid="soul-accept" @click=${() => this.decide(change, true)}>Accept</button>
        <button class="small danger" data-testid="soul-reject" @click=${() => this.decide(change, false)}>${change.origin === "external" ? "Revert file" : "Reject"}</button>
      </header>
      <pre class="diff-text" data-testid="soul-pending-diff">${parts.map((p) => html`<span class=${p.added ? "added" : p.removed ? "removed" : "same"}>${p.value
        .replace(/\n$/, "")
        .split("\n")
        .map((line) => `${p.added ? "+" : p.removed ? "-" : " "} ${line}\n`)
        .join("")}</span>`)}</pre>
    </section>`;
  }

  renderDiff(version: SoulVersionView) {
    const parts = diffLines(version.content, this.text);
    return html`<section class="diff" data-testid="diff" aria-label="Differences">
      <header><strong>Version ${version.id}</strong> → <strong>the editor</strong>
        <button class="small" @click=${() => (this.comparing = null)}>Close</button></header>
      <pre>${parts.map((p) => html`<span class=${p.added ? "added" : p.removed ? "removed" : "same"}>${p.value
        .replace(/\n$/, "")
        .split("\n")
        .map((line) => `${p.added ? "+" : p.removed ? "-" : " "} ${line}\n`)
        .join("")}</span>`)}</pre>
    </section>`;
  }

  render() {
    return html`<div class="soul">
      <header class="pane-head">
        <div class="tabs" role="tablist">
          ${FILES.map((f) => html`<button role="tab" class="tab ${f === this.file ? "active" : ""}" aria-selected=${f === this.file}
            data-testid="soul-file-${f}" @click=${() => this.open(f)}>${f}</button>`)}
        </div>
        <span class="spacer"></span>
        ${this.dirty ? html`<span class="unsaved" data-testid="unsaved">Unsaved changes</span>` : nothing}
        <button class="primary" data-testid="soul-save" ?disabled=${!this.dirty || this.saving} @click=${() => this.save()} title="Save (Ctrl+S)">Save</button>
      </header>
      ${this.problem ? html`<p class="error banner" role="alert" data-testid="soul-error">${this.problem}</p>` : nothing}
      ${this.message ? html`<p class="notice banner" data-testid="soul-message">${this.message}</p>` : nothing}
      ${(this.loaded?.pending ?? []).map((change) => this.renderPending(change))}
      <div class="soul-body">
        <textarea class="editor" data-testid="soul-editor" spellcheck="true" aria-label="${this.file} text"
          .value=${this.text} @input=${(e: Event) => (this.text = (e.target as HTMLTextAreaElement).value)}></textarea>
        ${this.comparing
          ? this.renderDiff(this.comparing)
          : html`<article class="preview markdown" data-testid="soul-preview" aria-label="Preview">${unsafeHTML(renderMarkdown(this.text))}</article>`}
        <aside class="history" aria-label="History">
          <h3>History</h3>
          ${this.loaded ? html`<p class="path" title=${this.loaded.path}>${this.loaded.path}</p>` : nothing}
          <ol data-testid="soul-history">
            ${this.history.map((v) => html`<li data-testid="soul-version" data-origin=${v.origin}>
              <div><strong>v${v.id}</strong> <span class="origin">${v.origin}</span>
                ${v.id === this.loaded?.versionId && !this.dirty ? html`<span class="current">current</span>` : nothing}</div>
              <div class="meta">${new Date((v.savedAt ?? 0) * 1000).toLocaleString()} · ${v.content.length} chars</div>
              <div class="actions">
                <button class="small" data-testid="soul-diff" @click=${() => (this.comparing = v)}>Diff</button>
                <button class="small" data-testid="soul-restore" @click=${() => this.restore(v)}>Restore</button>
              </div>
            </li>`)}
          </ol>
        </aside>
      </div>
    </div>`;
  }
}

customElements.define("soul-pane", SoulPane);
