import { LitElement, html, nothing } from "lit";
import { call, commands, errorText } from "../api";
import type { AuditPage, AuditQuery, AuditRecordView } from "../api";

const OUTCOMES = ["done", "denied", "throttled", "held", "pending", "accepted", "reverted", "rejected", "redacted", "blocked", "failed"];

/** The audit log: filters, search, a record's detail, the chain's state, export. */
export class AuditPane extends LitElement {
  static properties = {
    page: { state: true },
    query: { state: true },
    selected: { state: true },
    problem: { state: true },
  };
  declare page: AuditPage | null;
  declare query: AuditQuery;
  declare selected: AuditRecordView | null;
  declare problem: string | null;
  private searchTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    super();
    this.page = null;
    this.query = { limit: 200 };
    this.selected = null;
    this.problem = null;
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
      this.page = await call(commands.auditQuery(this.query));
      this.problem = null;
    } catch (error) {
      this.problem = errorText(error);
    }
  }

  async more() {
    const last = this.page?.records.at(-1);
    if (!last || !this.page) return;
    try {
      const next = await call(commands.auditQuery({ ...this.query, beforeSeq: last.seq }));
      this.page = { ...this.page, records: [...this.page.records, ...next.records] };
    } catch (error) {
      this.problem = errorText(error);
    }
  }

  set(field: keyof AuditQuery, value: string) {
    const query: AuditQuery = { ...this.query, beforeSeq: null };
    if (field === "fromMs" || field === "toMs") {
      query[field] = value ? new Date(value).getTime() + (field === "toMs" ? 86_400_000 : 0) : null;
    } else {
      (query as Record<string, unknown>)[field] = value || null;
    }
    this.query = query;
    if (field === "text") {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => this.load(), 200);
    } else {
      this.load();
    }
  }

  async export(format: "jsonl" | "csv") {
    try {
      const text = await call(commands.auditExport({ format }));
      const url = URL.createObjectURL(new Blob([text], { type: format === "csv" ? "text/csv" : "application/x-ndjson" }));
      const link = document.createElement("a");
      link.href = url;
      link.download = `pincer-audit.${format}`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
      await this.load();
    } catch (error) {
      this.problem = errorText(error);
    }
  }

  renderStatus() {
    const status = this.page?.status;
    if (!status) return nothing;
    if (status.brokenAt != null) {
      return html`<p class="error banner" role="alert" data-testid="audit-chain" data-state="broken">
        The chain breaks at record ${status.brokenAt}: ${status.reason}. ${status.verified} records before it verify.</p>`;
    }
    return html`<p class="notice banner" data-testid="audit-chain" data-state="intact">
      Chain intact: ${status.verified} records verified${status.signedUpTo != null ? html`, signed up to record ${status.signedUpTo}` : ""}.</p>`;
  }

  renderDetail(record: AuditRecordView) {
    return html`<aside class="audit-detail card" data-testid="audit-detail" aria-label="Record ${record.seq}">
      <header><strong>Record ${record.seq}</strong><span class="spacer"></span>
        <button class="small" @click=${() => (this.selected = null)}>Close</button></header>
      <dl>
        <dt>Time</dt><dd>${new Date(record.atMs ?? 0).toLocaleString()}</dd>
        <dt>Actor</dt><dd>${record.actor}</dd>
        <dt>Action</dt><dd>${record.action}</dd>
        <dt>Target</dt><dd><code>${record.target}</code></dd>
        <dt>Outcome</dt><dd>${record.decision}</dd>
        <dt>Details</dt><dd><pre>${record.details}</pre></dd>
        <dt>Hash</dt><dd><code class="hash">${record.hash}</code></dd>
        <dt>Previous</dt><dd><code class="hash">${record.prevHash}</code></dd>
      </dl>
    </aside>`;
  }

  render() {
    const page = this.page;
    const option = (value: string, current: string | null | undefined) => html`<option value=${value} ?selected=${value === current}>${value}</option>`;
    return html`<div class="audit">
      <header class="pane-head filters">
        <input type="search" placeholder="Search actions, targets, details" aria-label="Search the audit log" data-testid="audit-search"
          @input=${(e: Event) => this.set("text", (e.target as HTMLInputElement).value)} />
        <select aria-label="Actor" data-testid="audit-actor" @change=${(e: Event) => this.set("actor", (e.target as HTMLSelectElement).value)}>
          <option value="">Any actor</option>${(page?.actors ?? []).map((a) => option(a, this.query.actor))}
        </select>
        <select aria-label="Action" data-testid="audit-action" @change=${(e: Event) => this.set("action", (e.target as HTMLSelectElement).value)}>
          <option value="">Any action</option>${(page?.actions ?? []).map((a) => option(a, this.query.action))}
        </select>
        <select aria-label="Outcome" data-testid="audit-outcome" @change=${(e: Event) => this.set("decision", (e.target as HTMLSelectElement).value)}>
          <option value="">Any outcome</option>${OUTCOMES.map((o) => option(o, this.query.decision))}
        </select>
        <label>From <input type="date" aria-label="From" @change=${(e: Event) => this.set("fromMs", (e.target as HTMLInputElement).value)} /></label>
        <label>To <input type="date" aria-label="To" @change=${(e: Event) => this.set("toMs", (e.target as HTMLInputElement).value)} /></label>
        <span class="spacer"></span>
        <button class="small" data-testid="audit-export-jsonl" @click=${() => this.export("jsonl")}>Export JSONL</button>
        <button class="small" @click=${() => this.export("csv")}>Export CSV</button>
      </header>
      ${this.problem ? html`<p class="error banner" role="alert">${this.problem}</p>` : nothing}
      ${this.renderStatus()}
      <div class="audit-body">
        <div class="scroll">
          <table class="audit-table" aria-label="Audit records">
            <thead><tr><th>#</th><th>Time</th><th>Actor</th><th>Action</th><th>Target</th><th>Outcome</th></tr></thead>
            <tbody>
              ${(page?.records ?? []).map((r) => html`<tr data-testid="audit-record" data-action=${r.action} class=${this.selected?.seq === r.seq ? "selected" : ""}
                tabindex="0" @click=${() => (this.selected = r)} @keydown=${(e: KeyboardEvent) => e.key === "Enter" && (this.selected = r)}>
                <td><button class="small link" data-testid="audit-open" title="Open record ${r.seq}" @click=${(e: Event) => {
                  e.stopPropagation();
                  this.selected = r;
                }}>${r.seq}</button></td><td>${new Date(r.atMs ?? 0).toLocaleString()}</td><td>${r.actor}</td><td>${r.action}</td>
                <td class="target" title=${r.target}>${r.target}</td><td class="outcome ${r.decision}">${r.decision}</td>
              </tr>`)}
            </tbody>
          </table>
          ${page && page.records.length === 0 ? html`<p class="meta" data-testid="audit-empty">No records match.</p>` : nothing}
          ${page && page.records.length >= (this.query.limit ?? 200) ? html`<button class="small" @click=${() => this.more()}>Older records</button>` : nothing}
        </div>
        ${this.selected ? this.renderDetail(this.selected) : nothing}
      </div>
    </div>`;
  }
}

customElements.define("audit-pane", AuditPane);
