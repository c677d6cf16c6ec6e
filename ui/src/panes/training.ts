import { LitElement, html, nothing } from "lit";
import { call, commands, errorText } from "../api";
import type { DataOverview, SourceData, TrajectorySummary, TrajectoryView } from "../api";

/** What a score means, in words. */
function scoreLabel(score: number | null): string {
  if (score === null) return "not judged";
  return score > 0 ? "+1 helped" : score < 0 ? "−1 missed" : "0 unclear";
}

function consentLabel(training: boolean | null): string {
  return training === true ? "on" : training === false ? "off" : "never asked";
}

/**
 * Training data: what Pincer keeps from everyday use to learn from, by
 * source, with the consent in force for each; a record opens with its
 * prompt, the judge's votes and hint, and can be deleted, as can a
 * source's records.
 */
export class TrainingPane extends LitElement {
  static properties = {
    overview: { state: true },
    records: { state: true },
    selected: { state: true },
    filter: { state: true },
    problem: { state: true },
  };
  declare overview: DataOverview | null;
  declare records: TrajectorySummary[];
  declare selected: TrajectoryView | null;
  declare filter: string | null;
  declare problem: string | null;

  constructor() {
    super();
    this.overview = null;
    this.records = [];
    this.selected = null;
    this.filter = null;
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
      this.overview = await call(commands.dataOverview());
      this.records = await call(commands.listTrajectories({ source: this.filter, limit: 200 }));
      this.problem = null;
    } catch (error) {
      this.problem = errorText(error);
    }
  }

  async setConsent(source: string, granted: boolean) {
    try {
      this.overview = await call(commands.setConsent({ source, purpose: null, granted }));
    } catch (error) {
      this.problem = errorText(error);
    }
  }

  async open(id: number | null) {
    try {
      this.selected = await call(commands.openTrajectory({ id: id ?? 0 }));
    } catch (error) {
      this.problem = errorText(error);
    }
  }

  async deleteData(what: { id?: number; source?: string }) {
    const question = what.id !== undefined ? `Delete record ${what.id}?` : `Delete every record of ${what.source}? Its consent stays as it is.`;
    if (!confirm(question)) return;
    try {
      await call(commands.deleteTrainingData({ id: what.id ?? null, source: what.source ?? null }));
      if (what.id !== undefined && this.selected?.summary.id === what.id) this.selected = null;
      if (what.source !== undefined) this.selected = null;
      await this.load();
    } catch (error) {
      this.problem = errorText(error);
    }
  }

  renderSource(s: SourceData) {
    return html`<tr data-testid="training-source" data-source=${s.source}>
      <td><button class="small link" title="Show only ${s.source}" @click=${() => {
        this.filter = this.filter === s.source ? null : s.source;
        this.load();
      }}>${s.source}</button></td>
      <td data-testid="source-consent">${consentLabel(s.training)}</td>
      <td>${s.total}</td><td data-testid="source-judged">${s.judged}</td><td>${s.positive}</td><td>${s.neutral}</td><td>${s.negative}</td>
      <td>${s.hinted}</td><td>${s.waiting}</td>
      <td class="actions">
        <button class="small" data-testid="consent-toggle" @click=${() => this.setConsent(s.source, s.training !== true)}>
          ${s.training === true ? "Withdraw" : "Allow"}</button>
        <button class="small danger" ?disabled=${s.total === 0} @click=${() => this.deleteData({ source: s.source })}>Delete records</button>
      </td>
    </tr>`;
  }

  renderDetail(t: TrajectoryView) {
    const s = t.summary;
    return html`<aside class="audit-detail card" data-testid="record-detail" aria-label="Record ${s.id}">
      <header><strong>Record ${s.id}</strong><span class="spacer"></span>
        <button class="small danger" data-testid="record-delete" @click=${() => this.deleteData({ id: s.id ?? undefined })}>Delete</button>
        <button class="small" @click=${() => (this.selected = null)}>Close</button></header>
      <dl>
        <dt>Source</dt><dd>${s.source}</dd>
        <dt>Consent</dt><dd>${t.consent ? `${t.consent.granted ? "given" : "withdrawn"} by ${t.consent.by}, ${new Date((t.consent.at ?? 0) * 1000).toLocaleString()}` : "unknown"}</dd>
        <dt>Model</dt><dd>${t.model}${t.soulSha256 ? html` · soul <code class="hash">${t.soulSha256.slice(0, 12)}</code>` : nothing}</dd>
        <dt>Tokens</dt><dd>${t.tokens}${t.meanLogprob !== null ? ` · mean log-probability ${t.meanLogprob.toFixed(3)}` : ""}</dd>
        <dt>Prompt</dt><dd>${t.prompt.map((m) => html`<pre class="record-message"><strong>${m.role}</strong> ${m.content}</pre>`)}</dd>
        <dt>Answer</dt><dd><pre>${t.response}</pre></dd>
        <dt>Next state</dt><dd>${s.nextKind ? html`<em>${s.nextKind}</em> <pre>${t.nextText}</pre>` : "none yet"}</dd>
        ${s.feedback ? html`<dt>Feedback</dt><dd>${s.feedback}${t.editedAnswer ? html`<pre>${t.editedAnswer}</pre>` : nothing}</dd>` : nothing}
        <dt>Score</dt><dd data-testid="record-score">${scoreLabel(s.score)}${t.judge ? ` · judged by ${t.judge}` : ""}</dd>
        ${t.votes.length ? html`<dt>Votes</dt><dd><ol>${t.votes.map((v) => html`<li>${v.score > 0 ? "+1" : v.score}: ${v.reasoning}</li>`)}</ol></dd>` : nothing}
        ${s.hint ? html`<dt>Hint</dt><dd data-testid="record-hint">${s.hint}</dd>` : nothing}
        ${t.teacher ? html`<dt>Teacher context</dt><dd><pre>${t.teacher.at(-1)?.content}</pre></dd>` : nothing}
      </dl>
    </aside>`;
  }

  render() {
    const o = this.overview;
    return html`<div class="audit training">
      <header class="pane-head">
        <h1>Training data</h1>
        <button class="small" data-testid="training-refresh" @click=${() => this.load()}>Refresh</button><span class="spacer"></span>
        <span class="meta">The judge takes ${o?.judgeSamples ?? 3} samples per answer, in the background, only while you are not chatting.</span>
      </header>
      ${this.problem ? html`<p class="error banner" role="alert">${this.problem}</p>` : nothing}
      <p class="notice banner">Nothing becomes training data without your consent. Each source is asked separately; withdrawing keeps its records out of every later training run. Secrets are redacted before anything is stored.</p>
      <table class="audit-table" aria-label="Sources">
        <thead><tr><th>Source</th><th>Consent</th><th>Records</th><th>Judged</th><th>+1</th><th>0</th><th>−1</th><th>Hints</th><th>Waiting</th><th></th></tr></thead>
        <tbody>${(o?.sources ?? []).map((s) => this.renderSource(s))}</tbody>
      </table>
      ${o && o.sources.every((s) => s.source !== "app")
        ? html`<p class="meta">The app's chat has no decision yet. <button class="small" data-testid="consent-app" @click=${() => this.setConsent("app", true)}>Allow learning from the app's chat</button></p>`
        : nothing}
      <div class="audit-body">
        <div class="scroll">
          <table class="audit-table" aria-label="Records">
            <thead><tr><th>#</th><th>Time</th><th>Source</th><th>Answer</th><th>Next</th><th>Score</th><th>Hint</th></tr></thead>
            <tbody>
              ${this.records.map((r) => html`<tr data-testid="training-record" class=${this.selected?.summary.id === r.id ? "selected" : ""} @click=${() => this.open(r.id)}>
                <td><button class="small link" data-testid="record-open" @click=${(e: Event) => {
                  e.stopPropagation();
                  this.open(r.id);
                }}>${r.id}</button></td>
                <td>${new Date((r.createdAt ?? 0) * 1000).toLocaleString()}</td><td>${r.source}</td>
                <td class="target" title=${r.answer}>${r.answer}</td><td>${r.nextKind ?? "—"}</td>
                <td>${scoreLabel(r.score)}${r.feedback ? ` (${r.feedback})` : ""}</td><td class="target" title=${r.hint ?? ""}>${r.hint ?? ""}</td>
              </tr>`)}
            </tbody>
          </table>
          ${o && this.records.length === 0 ? html`<p class="meta" data-testid="training-empty">No records${this.filter ? ` from ${this.filter}` : ""}.</p>` : nothing}
        </div>
        ${this.selected ? this.renderDetail(this.selected) : nothing}
      </div>
    </div>`;
  }
}

customElements.define("training-pane", TrainingPane);
