import { LitElement, html, nothing } from "lit";
import { call, commands, errorText } from "../api";
import type { AppInfo, CatalogModel, DownloadView } from "../api";

const GB = 1e9;

function size(value: number | null): string {
  const bytes = value ?? 0;
  return bytes >= GB ? `${(bytes / GB).toFixed(1)} GB` : `${Math.round(bytes / 1e6)} MB`;
}

const FIT: Record<string, string> = {
  fits: "Fits this machine",
  needsFreeMemory: "Close other apps first",
  tooLarge: "Too large for this machine",
};

/** The active model, loading a local one, and the catalog with downloads. */
export class ModelsPane extends LitElement {
  static properties = {
    info: { attribute: false },
    catalog: { state: true },
    path: { state: true },
    loading: { state: true },
    problem: { state: true },
    notice: { state: true },
  };
  declare info: AppInfo | null;
  declare catalog: CatalogModel[];
  declare path: string;
  declare loading: boolean;
  declare problem: string | null;
  declare notice: string | null;
  private timer: number | undefined;

  constructor() {
    super();
    this.catalog = [];
    this.path = "";
    this.loading = false;
    this.problem = null;
    this.notice = null;
  }

  createRenderRoot() {
    return this;
  }

  connectedCallback() {
    super.connectedCallback();
    this.refresh();
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    clearTimeout(this.timer);
  }

  async refresh() {
    clearTimeout(this.timer);
    try {
      this.catalog = await call(commands.listCatalog());
    } catch (error) {
      this.problem = errorText(error);
    }
    // Poll only while a download runs, to move its progress bar.
    if (this.catalog.some((m) => m.download?.state === "running")) this.timer = window.setTimeout(() => this.refresh(), 500);
  }

  async load() {
    if (!this.path.trim() || this.loading) return;
    this.loading = true;
    this.problem = null;
    this.notice = null;
    try {
      const model = await call(commands.loadModel({ path: this.path }));
      this.notice = `Loaded ${model.id} (${model.details}).`;
      window.dispatchEvent(new Event("pincer:refresh"));
    } catch (error) {
      // The path stays in the field to correct it.
      this.problem = errorText(error);
    } finally {
      this.loading = false;
    }
  }

  async act(action: (id: string) => Promise<unknown>, id: string) {
    try {
      await action(id);
      this.problem = null;
    } catch (error) {
      this.problem = errorText(error);
    }
    await this.refresh();
  }

  renderDownload(m: CatalogModel, d: DownloadView | null) {
    const start = () => this.act((id) => call(commands.startDownload({ id })), m.id);
    if (m.localPath) {
      return html`<button class="small" @click=${() => { this.path = m.localPath ?? ""; this.load(); }}>Load</button>`;
    }
    if (!d || d.state === "canceled") return html`<button class="small" ?disabled=${m.fit === "tooLarge"} @click=${start}>Download</button>`;
    const total = d.totalBytes ?? m.sizeBytes ?? 0;
    const done = d.doneBytes ?? 0;
    const percent = total > 0 ? Math.min(100, (100 * done) / total) : 0;
    return html`<div class="download">
      <progress max="100" .value=${percent} aria-label="Download of ${m.id}"></progress>
      <span>${size(done)} / ${size(total)} · ${d.state}</span>
      ${d.state === "running" ? html`<button class="small" @click=${() => this.act((id) => call(commands.pauseDownload({ id })), m.id)}>Pause</button>` : nothing}
      ${d.state === "paused" || d.state === "failed" ? html`<button class="small" @click=${start}>Resume</button>` : nothing}
      ${d.state !== "done" ? html`<button class="small" @click=${() => this.act((id) => call(commands.cancelDownload({ id })), m.id)}>Cancel</button>` : nothing}
      ${d.error ? html`<p class="error">${d.error}</p>` : nothing}
    </div>`;
  }

  render() {
    const active = this.info?.model;
    return html`<div class="models scroll">
      <section class="card">
        <h2>Active model</h2>
        ${active
          ? html`<p data-testid="active-model"><strong>${active.id}</strong> · ${active.details}<br /><code>${active.path}</code></p>
              <button class="small" @click=${async () => { await call(commands.unloadModel()); window.dispatchEvent(new Event("pincer:refresh")); }}>Unload</button>`
          : html`<p data-testid="active-model">No model is loaded. Load a local file below or download one from the catalog.</p>`}
      </section>
      <section class="card">
        <h2>Load a local model</h2>
        <form class="row" @submit=${(e: Event) => { e.preventDefault(); this.load(); }}>
          <input data-testid="model-path" placeholder="/path/to/model.gguf or a Hugging Face model folder" aria-label="Model path"
            .value=${this.path} @input=${(e: Event) => (this.path = (e.target as HTMLInputElement).value)} />
          <button class="primary" data-testid="model-load" type="submit" ?disabled=${this.loading || !this.path.trim()}>${this.loading ? "Loading…" : "Load"}</button>
        </form>
        ${this.problem ? html`<p class="error" role="alert" data-testid="models-error">${this.problem}</p>` : nothing}
        ${this.notice ? html`<p class="notice" data-testid="models-notice">${this.notice}</p>` : nothing}
      </section>
      <section class="card">
        <h2>Catalog</h2>
        <table class="catalog">
          <thead><tr><th>Model</th><th>Size</th><th>Memory</th><th>This machine</th><th></th></tr></thead>
          <tbody>
            ${this.catalog.map((m) => html`<tr data-testid="catalog-row">
              <td><strong>${m.id}</strong>${m.isDefault ? html` <span class="badge">default</span>` : nothing}<div class="meta">${m.description}</div></td>
              <td>${size(m.sizeBytes)}</td><td>${size(m.minMemoryBytes)}</td>
              <td><span class="fit ${m.fit}">${FIT[m.fit] ?? m.fit}</span></td>
              <td>${this.renderDownload(m, m.download)}</td>
            </tr>`)}
          </tbody>
        </table>
      </section>
    </div>`;
  }
}

customElements.define("models-pane", ModelsPane);
