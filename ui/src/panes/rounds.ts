import { LitElement, html, nothing, svg } from "lit";
import { call, commands, errorText } from "../api";
import type { AdapterView, TrainingSchedule, TrainingStatus } from "../api";

/** How often the pane reads the status while it is open. */
const POLL_MS = 1500;

const PHASES: Record<string, string> = {
  idle: "Idle",
  preparing: "Preparing the data",
  training: "Training",
  gating: "Checking the adapter",
  paused: "Paused",
};

const CONDITIONS: Record<string, string> = {
  window: "In the window",
  power: "On external power",
  idle: "You are away",
  records: "Enough new feedback",
  model: "A model that can train",
  agent: "Agent running",
};

function fixed(value: number | null | undefined, digits = 3): string {
  return value === null || value === undefined ? "—" : value.toFixed(digits);
}

function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function windowOpen(s: TrainingStatus): boolean {
  return s.conditions.some((c) => c.name === "window" && c.ok);
}

/** The loss of each step as a small line chart. */
function lossCurve(losses: number[]) {
  if (losses.length < 2) return nothing;
  const width = 320;
  const height = 80;
  const low = Math.min(...losses);
  const high = Math.max(...losses);
  const span = high - low || 1;
  const points = losses
    .map((loss, i) => `${((i / (losses.length - 1)) * width).toFixed(1)},${(height - ((loss - low) / span) * height).toFixed(1)}`)
    .join(" ");
  return html`<svg class="loss-curve" data-testid="loss-curve" viewBox="0 0 ${width} ${height}" width=${width} height=${height} role="img"
      aria-label="Loss by step, from ${fixed(losses[0])} to ${fixed(losses.at(-1))}">
    ${svg`<polyline fill="none" stroke="currentColor" stroke-width="2" points=${points}></polyline>`}
  </svg>`;
}

/**
 * Training: what feedback is ready, "train now" and "train tonight while
 * charging" with each of its conditions checked live, the running round's
 * steps, loss curve and time left, and every adapter version with its
 * metrics, any of which (or the bare base) can serve again in one click.
 */
export class RoundsPane extends LitElement {
  static properties = {
    status: { state: true },
    adapters: { state: true },
    draft: { state: true },
    problem: { state: true },
  };
  declare status: TrainingStatus | null;
  declare adapters: AdapterView[];
  declare draft: TrainingSchedule | null;
  declare problem: string | null;
  private timer: number | undefined;

  constructor() {
    super();
    this.status = null;
    this.adapters = [];
    this.draft = null;
    this.problem = null;
  }

  createRenderRoot() {
    return this;
  }

  connectedCallback() {
    super.connectedCallback();
    this.load();
    this.timer = window.setInterval(() => this.refresh(), POLL_MS);
  }

  disconnectedCallback() {
    super.disconnectedCallback();
    window.clearInterval(this.timer);
  }

  async load() {
    await this.refresh();
    try {
      this.adapters = await call(commands.listAdapters());
    } catch (error) {
      this.problem = errorText(error);
    }
  }

  async refresh() {
    try {
      const before = this.status?.last?.at;
      this.status = await call(commands.trainingStatus());
      this.draft ??= { ...this.status.schedule };
      if (this.status.last?.at !== before) this.adapters = await call(commands.listAdapters());
    } catch (error) {
      this.problem = errorText(error);
    }
  }

  async act(work: () => Promise<unknown>) {
    try {
      await work();
      this.problem = null;
      await this.load();
    } catch (error) {
      this.problem = errorText(error);
    }
  }

  arm(armed: boolean) {
    const schedule = { ...(this.draft ?? this.status?.schedule ?? {}), armed };
    return this.act(async () => {
      this.status = await call(commands.setTrainingSchedule(schedule));
      this.draft = { ...this.status.schedule };
    });
  }

  serve(version: number | null) {
    const what = version === null ? "the bare base model (no adapter)" : `adapter v${version}`;
    if (!confirm(`Serve ${what}? The model reloads with it.`)) return;
    return this.act(() => call(commands.rollbackAdapter({ version })));
  }

  field(name: keyof TrainingSchedule, value: string) {
    const draft = { ...(this.draft ?? {}) } as Record<string, unknown>;
    draft[name] = name === "window" ? value : Number(value);
    this.draft = draft as TrainingSchedule;
  }

  renderSchedule(s: TrainingStatus) {
    const d = this.draft ?? s.schedule;
    const armed = s.schedule.armed ?? false;
    return html`<section class="card" data-testid="schedule">
      <h2>Train tonight while charging</h2>
      <div class="schedule-fields">
        <label>Window (local time) <input data-testid="schedule-window" .value=${d.window ?? "01:00-06:00"}
          @input=${(e: Event) => this.field("window", (e.target as HTMLInputElement).value)} size="11" /></label>
        <label>Away for at least <input type="number" min="0" data-testid="schedule-idle" .value=${String(d.minIdleMinutes ?? 15)}
          @input=${(e: Event) => this.field("minIdleMinutes", (e.target as HTMLInputElement).value)} /> min</label>
        <label>New judged turns <input type="number" min="1" data-testid="schedule-records" .value=${String(d.minNewRecords ?? 20)}
          @input=${(e: Event) => this.field("minNewRecords", (e.target as HTMLInputElement).value)} /></label>
        ${armed
          ? html`<button data-testid="schedule-disarm" @click=${() => this.arm(false)}>Disarm</button>`
          : html`<button class="primary" data-testid="schedule-arm" @click=${() => this.arm(true)}>Arm for tonight</button>`}
      </div>
      <p class="meta" data-testid="schedule-state">${armed
        ? `Armed: a round starts when every condition below holds${windowOpen(s) ? " (the window is open now)" : s.nextWindow ? ` (the window next opens ${new Date(s.nextWindow).toLocaleString()})` : ""}. It pauses when one stops holding and resumes when it returns.`
        : "Not armed. Arming saves the window and thresholds and waits for them."}</p>
      <ul class="conditions" aria-label="Conditions">
        ${s.conditions.map((c) => html`<li data-testid="condition" data-name=${c.name} data-ok=${String(c.ok)}>
          <span class="mark ${c.ok ? "ok" : "no"}" aria-hidden="true">${c.ok ? "✓" : "✗"}</span>
          <strong>${CONDITIONS[c.name] ?? c.name}</strong> <span class="meta">${c.detail}</span></li>`)}
      </ul>
    </section>`;
  }

  renderProgress(s: TrainingStatus) {
    const p = s.progress;
    const running = s.phase !== "idle" && s.phase !== "paused";
    return html`<section class="card" data-testid="progress">
      <h2>Round <span class="badge" data-testid="training-phase">${PHASES[s.phase] ?? s.phase}</span></h2>
      ${p
        ? html`<p><progress max=${p.totalSteps} .value=${p.step}></progress>
            <span data-testid="progress-steps">step ${p.step} of ${p.totalSteps}</span>
            · loss ${fixed(p.losses.at(-1))} · ${running ? `about ${duration(p.etaSeconds)} left` : "stopped"}</p>
            ${lossCurve(p.losses.filter((loss): loss is number => loss !== null))}`
        : html`<p class="meta">No round has run since Pincer started.</p>`}
      ${s.sleepHold ? html`<p class="meta">${s.sleepHold}</p>` : nothing}
      ${s.last ? this.renderLast(s) : nothing}
    </section>`;
  }

  renderLast(s: TrainingStatus) {
    const l = s.last!;
    const verdict = l.failed ? "failed" : l.paused ? "paused" : l.promoted ? `promoted v${l.version}` : `rejected v${l.version}`;
    return html`<div class="last-round" data-testid="last-round">
      <strong>Last round: ${verdict}</strong> <span class="meta">${new Date((l.at ?? 0) * 1000).toLocaleString()}${l.scheduled ? " · scheduled" : ""}</span>
      <ul>${l.reasons.map((r) => html`<li>${r}</li>`)}</ul>
    </div>`;
  }

  renderAdapters() {
    const serving = this.adapters.find((a) => a.status === "serving");
    return html`<section class="card wide" data-testid="adapters">
      <h2>Adapters</h2>
      <p class="meta">Serving: <strong data-testid="serving">${serving ? `v${serving.id}` : "the bare base model"}</strong>
        ${serving ? html`<button class="small" data-testid="serve-base" @click=${() => this.serve(null)}>Serve the bare base</button>` : nothing}</p>
      <table class="audit-table" aria-label="Adapter versions">
        <thead><tr><th>Version</th><th>Status</th><th>Created</th><th>From</th><th>Turns</th><th title="+1 answers' logprob − −1 answers' − gap to the hinted teacher, on held-out turns">Owner score</th><th>Compared with</th><th>Reference NLL</th><th>Drift</th><th>Final loss</th><th>Why</th><th></th></tr></thead>
        <tbody>
          ${this.adapters.map((a) => html`<tr data-testid="adapter-row" data-status=${a.status}>
            <td>v${a.id}</td><td>${a.status}</td><td>${new Date((a.createdAt ?? 0) * 1000).toLocaleString()}</td>
            <td>${a.parentId ? `v${a.parentId}` : "base"}</td><td>${a.trained}</td>
            <td>${fixed(a.ownerScore)}</td><td>${fixed(a.servingOwnerScore)}</td><td>${fixed(a.referenceNll)}</td><td>${fixed(a.drift, 4)}</td><td>${fixed(a.finalLoss)}</td>
            <td class="target" title=${a.reason}>${a.reason}</td>
            <td>${a.status === "serving" ? nothing : html`<button class="small" data-testid="adapter-serve" @click=${() => this.serve(a.id)}>Serve</button>`}</td>
          </tr>`)}
        </tbody>
      </table>
      ${this.adapters.length === 0 ? html`<p class="meta" data-testid="adapters-empty">No adapter yet: the first round makes one.</p>` : nothing}
    </section>`;
  }

  render() {
    const s = this.status;
    const running = s !== null && s.phase !== "idle" && s.phase !== "paused";
    return html`<div class="training rounds">
      <header class="pane-head">
        <h1>Training</h1>
        <button class="primary" data-testid="train-now" ?disabled=${!s || running} @click=${() => this.act(() => call(commands.startTraining()))}>
          ${s?.roundWaiting ? "Resume the round" : "Train now"}</button>
        <button data-testid="train-pause" ?disabled=${!running} @click=${() => this.act(() => call(commands.pauseTraining()))}>Pause</button>
        <span class="spacer"></span>
        ${s ? html`<span class="meta" data-testid="ready-data">${s.readyRecords} judged turns with consent · ${s.newRecords} new since the last round</span>` : nothing}
      </header>
      ${this.problem ? html`<p class="error banner" role="alert" data-testid="training-problem">${this.problem}</p>` : nothing}
      <p class="notice banner">Rounds train a small LoRA adapter on your judged turns, on this machine. An adapter serves only if it beats the current one on turns it never saw and stays within bounds on reference text, tool calls, your soul's rules and drift; every version is kept.</p>
      ${s ? html`<div class="cards">${this.renderSchedule(s)}${this.renderProgress(s)}</div>` : nothing}
      ${this.renderAdapters()}
    </div>`;
  }
}

customElements.define("rounds-pane", RoundsPane);
