import { LitElement, html, nothing, type TemplateResult } from "lit";
import { call, commands, errorText } from "../api";
import type { AnswerSource, MemoryHitView, MemoryStatus } from "../api";

/** Text with the query's words marked: a word matches when it starts with a term (FTS5 stems, so "dentists" matches "dentist"). */
export function highlight(text: string, terms: string[]): (string | TemplateResult)[] {
  const words = terms.filter((t) => t.length > 1).map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  if (words.length === 0) return [text];
  const pattern = new RegExp(`\\b((?:${words.join("|")})\\w*)`, "giu");
  const parts: (string | TemplateResult)[] = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    parts.push(text.slice(last, match.index));
    parts.push(html`<mark>${match[0]}</mark>`);
    last = (match.index ?? 0) + match[0].length;
  }
  parts.push(text.slice(last));
  return parts;
}

interface Viewer {
  path: string;
  lines: string[];
  from: number;
  to: number;
}

/** Memory: search with highlighted hits and their lines, sources with indexing progress, a file viewer, and "remember". */
export class MemoryPane extends LitElement {
  static properties = {
    status: { state: true },
    query: { state: true },
    hits: { state: true },
    searched: { state: true },
    recent: { state: true },
    diverse: { state: true },
    provenance: { state: true },
    viewer: { state: true },
    problem: { state: true },
    message: { state: true },
    newPath: { state: true },
    newProvenance: { state: true },
    note: { state: true },
    busy: { state: true },
    open: { attribute: false },
  };
  declare status: MemoryStatus | null;
  declare query: string;
  declare hits: MemoryHitView[];
  declare searched: boolean;
  declare recent: boolean;
  declare diverse: boolean;
  declare provenance: string;
  declare viewer: Viewer | null;
  declare problem: string | null;
  declare message: string | null;
  declare newPath: string;
  declare newProvenance: string;
  declare note: string;
  declare busy: boolean;
  /** A source to open when the pane appears (a chat answer's [n]). */
  declare open: AnswerSource | null;
  private timer: number | undefined;

  constructor() {
    super();
    this.status = null;
    this.query = "";
    this.hits = [];
    this.searched = false;
    this.recent = false;
    this.diverse = false;
    this.provenance = "";
    this.viewer = null;
    this.problem = null;
    this.message = null;
    this.newPath = "";
    this.newProvenance = "untrusted";
    this.note = "";
    this.busy = false;
    this.open = null;
  }

  createRenderRoot() {
    return this;
  }

  connectedCallback() {
    super.connectedCallback();
    this.refresh();
    if (this.open) this.view(this.open.path, this.open.startLine, this.open.endLine);
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    window.clearTimeout(this.timer);
  }

  /** Reads the status; while indexing runs, reads it again each second for the progress bar. */
  async refresh() {
    window.clearTimeout(this.timer);
    try {
      this.status = await call(commands.memoryStatus());
    } catch (error) {
      this.problem = errorText(error);
      return;
    }
    if (this.status.syncing) this.timer = window.setTimeout(() => this.refresh(), 1000);
  }

  async act(work: () => Promise<void>) {
    this.busy = true;
    this.problem = null;
    this.message = null;
    try {
      await work();
    } catch (error) {
      this.problem = errorText(error);
    } finally {
      this.busy = false;
    }
  }

  search() {
    const query = this.query.trim();
    if (!query) return;
    return this.act(async () => {
      this.hits = await call(commands.memorySearch({
        query, limit: 10, sources: [], provenance: this.provenance ? [this.provenance] : [], since: null, until: null,
        recencyHalfLifeDays: this.recent ? 30 : null, mmrLambda: this.diverse ? 0.7 : null,
      }));
      this.searched = true;
    });
  }

  view(path: string, from: number, to: number) {
    return this.act(async () => {
      const text = await call(commands.memoryReadFile({ path }));
      this.viewer = { path, lines: text.split("\n"), from, to };
      await this.updateComplete;
      this.querySelector(".viewer .hit-line")?.scrollIntoView({ block: "center" });
    });
  }

  addSource() {
    const path = this.newPath.trim();
    if (!path) return;
    return this.act(async () => {
      const source = await call(commands.memoryAddSource({ path, provenance: this.newProvenance }));
      this.newPath = "";
      this.message = `Added ${source.path}; indexing in the background.`;
      await this.refresh();
    });
  }

  forget(id: number, path: string) {
    if (!confirm(`Forget ${path}? Its index is removed; the files stay on disk.`)) return;
    return this.act(async () => {
      this.status = await call(commands.memoryForgetSource({ id }));
      this.hits = this.hits.filter((h) => !h.path.startsWith(path));
    });
  }

  reindex() {
    return this.act(async () => {
      this.status = await call(commands.memoryReindex());
      this.message = "Rebuilding the index from the files.";
      await this.refresh();
    });
  }

  remember() {
    const text = this.note.trim();
    if (!text) return;
    return this.act(async () => {
      const saved = await call(commands.memoryRemember({ text }));
      this.note = "";
      this.message = `Saved to ${saved.path} line ${saved.line}.`;
      await this.refresh();
    });
  }

  download() {
    return this.act(async () => {
      this.message = "Downloading the embedding model…";
      this.status = await call(commands.memoryDownloadEmbedder());
      this.message = null;
      await this.refresh();
    });
  }

  renderHit(hit: MemoryHitView) {
    const how = [hit.vectorRank ? `meaning #${hit.vectorRank}` : "", hit.keywordRank ? `words #${hit.keywordRank}` : ""].filter(Boolean).join(", ");
    return html`<li class="hit" data-testid="memory-hit">
      <header>
        <button class="link" data-testid="hit-source" title="Open ${hit.path}" @click=${() => this.view(hit.path, hit.startLine, hit.endLine)}>
          ${hit.path.split(/[\\/]/).pop()}:${hit.startLine}${hit.endLine !== hit.startLine ? `-${hit.endLine}` : ""}</button>
        ${hit.headingPath.length ? html`<span class="headings">${hit.headingPath.join(" › ")}</span>` : nothing}
        <span class="badge ${hit.provenance}">${hit.provenance}</span>
        <span class="meta">${hit.day} · ${how}</span>
      </header>
      <pre class="hit-text">${highlight(hit.text, hit.terms)}</pre>
    </li>`;
  }

  renderStatus(status: MemoryStatus) {
    if (!status.available) {
      return html`<div class="notice" role="status" data-testid="memory-off"><p>Memory is off: ${status.problem}</p>
        <button class="primary" ?disabled=${this.busy} @click=${() => this.download()}>Download the embedding model</button></div>`;
    }
    const progress = status.filesTotal > 0 ? Math.round((100 * status.filesDone) / status.filesTotal) : 100;
    return html`<p class="meta" data-testid="memory-counts">${status.files} files · ${status.chunks} chunks · embedder ${status.embedder}</p>
      ${status.syncing ? html`<div class="progress-row" data-testid="memory-progress"><progress max="100" .value=${progress}></progress>
        <span>${status.filesDone}/${status.filesTotal} ${status.currentFile ?? ""}</span></div>` : nothing}
      ${status.errors.map((e) => html`<p class="error">Skipped: ${e}</p>`)}`;
  }

  render() {
    const status = this.status;
    return html`<div class="memory">
      <section class="memory-main">
        <h2>Memory</h2>
        ${status ? this.renderStatus(status) : nothing}
        ${this.problem ? html`<p class="error" role="alert" data-testid="memory-error">${this.problem}</p>` : nothing}
        ${this.message ? html`<p class="ok" role="status" data-testid="memory-message">${this.message}</p>` : nothing}
        <form class="search-row" @submit=${(e: Event) => { e.preventDefault(); this.search(); }}>
          <input type="search" data-testid="memory-query" placeholder="Search notes and documents…" aria-label="Search memory"
            .value=${this.query} @input=${(e: Event) => (this.query = (e.target as HTMLInputElement).value)} />
          <select aria-label="Who wrote it" .value=${this.provenance} @change=${(e: Event) => (this.provenance = (e.target as HTMLSelectElement).value)}>
            <option value="">Anyone</option><option value="owner">You</option><option value="agent">Pincer</option><option value="untrusted">Documents</option>
          </select>
          <label><input type="checkbox" .checked=${this.recent} @change=${(e: Event) => (this.recent = (e.target as HTMLInputElement).checked)} /> Recent first</label>
          <label><input type="checkbox" .checked=${this.diverse} @change=${(e: Event) => (this.diverse = (e.target as HTMLInputElement).checked)} /> Diverse</label>
          <button class="primary" type="submit" data-testid="memory-search" ?disabled=${this.busy || !status?.available}>Search</button>
        </form>
        ${this.searched && this.hits.length === 0 ? html`<p class="meta" data-testid="memory-empty">Nothing in memory matches.</p>` : nothing}
        <ul class="hits">${this.hits.map((h) => this.renderHit(h))}</ul>
        ${this.viewer ? html`<section class="viewer" data-testid="memory-viewer" aria-label="File">
          <header><strong>${this.viewer.path}</strong><button class="small" @click=${() => (this.viewer = null)}>Close</button></header>
          <ol class="lines">${this.viewer.lines.map((line, i) => html`<li class=${i + 1 >= this.viewer!.from && i + 1 <= this.viewer!.to ? "hit-line" : ""}>${line || " "}</li>`)}</ol>
        </section>` : nothing}
      </section>
      <aside class="memory-side">
        <h3>Remember</h3>
        <form @submit=${(e: Event) => { e.preventDefault(); this.remember(); }}>
          <textarea rows="2" data-testid="memory-note" placeholder="Something to remember…" aria-label="Note to remember"
            .value=${this.note} @input=${(e: Event) => (this.note = (e.target as HTMLTextAreaElement).value)}></textarea>
          <button type="submit" data-testid="memory-remember" ?disabled=${this.busy || !status?.available}>Add to today's note</button>
        </form>
        <h3>Sources</h3>
        <ul class="sources-list" data-testid="memory-sources">
          ${(status?.sources ?? []).map((s) => html`<li data-testid="memory-source">
            <span class="path" title=${s.path}>${s.path}</span>
            <span class="meta">${s.kind} · ${s.provenance} · ${s.files} files · ${s.chunks} chunks</span>
            ${s.kind === "workspace" ? nothing : html`<button class="small danger" @click=${() => this.forget(s.id, s.path)}>Forget</button>`}
          </li>`)}
        </ul>
        <form @submit=${(e: Event) => { e.preventDefault(); this.addSource(); }}>
          <input data-testid="memory-add-path" placeholder="/path/to/folder or file" aria-label="Folder or file to add"
            .value=${this.newPath} @input=${(e: Event) => (this.newPath = (e.target as HTMLInputElement).value)} />
          <select aria-label="Whose writing" .value=${this.newProvenance} @change=${(e: Event) => (this.newProvenance = (e.target as HTMLSelectElement).value)}>
            <option value="untrusted">Outside documents</option><option value="owner">My own notes</option>
          </select>
          <button type="submit" data-testid="memory-add" ?disabled=${this.busy || !status?.available}>Add</button>
        </form>
        <button data-testid="memory-reindex" ?disabled=${this.busy || !status?.available || status?.syncing} @click=${() => this.reindex()}>Rebuild index</button>
      </aside>
    </div>`;
  }
}

customElements.define("memory-pane", MemoryPane);
