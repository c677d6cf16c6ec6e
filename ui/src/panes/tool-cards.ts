import { html, nothing } from "lit";
import type { ToolCallView, ToolOutcomeView, ToolQuestionView } from "../api";

/** A tool call in the answer as it streams: the call, the gate's question, and what became of it. */
export interface ToolCard {
  call: ToolCallView;
  question?: ToolQuestionView;
  outcome?: ToolOutcomeView;
  answering?: boolean;
  answerError?: string;
}

type Answer = "allowOnce" | "allowAlways" | "deny";

const DECISION_SAID: Record<string, string> = {
  ran: "ran",
  allowed: "allowed by you",
  denied: "denied",
  timeout: "not answered in time",
  invalid: "could not run",
  stopped: "stopped",
};

function pretty(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}

/** One tool call: name and arguments, the question with its three answers, then the result folded. */
export function renderToolCard(card: ToolCard, answer: (card: ToolCard, answer: Answer) => void) {
  const { call, question, outcome } = card;
  const state = outcome ? outcome.decision : question ? "asking" : "running";
  return html`<div class="tool-card ${state}" data-testid="tool-call" data-tool=${call.tool} data-state=${state}>
    <div class="tool-head"><code class="tool-name">${call.tool}</code>
      ${outcome
        ? html`<span class="meta" data-testid="tool-decision">${DECISION_SAID[outcome.decision] ?? outcome.decision}${outcome.tookMs ? ` · ${Math.round(outcome.tookMs)} ms` : ""}</span>`
        : html`<span class="meta">${question ? "waiting for you" : "working…"}</span>`}</div>
    <pre class="tool-args" data-testid="tool-arguments">${pretty(call.arguments)}</pre>
    ${question && !outcome
      ? html`<div class="tool-question" role="alertdialog" aria-label="Allow ${call.tool}?" data-testid="tool-question">
          <p><strong>Allow this ${question.effect} call?</strong> ${question.why}.</p>
          <span class="actions">
            <button class="small primary" data-testid="tool-allow-once" ?disabled=${card.answering} @click=${() => answer(card, "allowOnce")}>Allow once</button>
            ${question.offerAlways
              ? html`<button class="small" data-testid="tool-allow-always" ?disabled=${card.answering} @click=${() => answer(card, "allowAlways")}>Allow always</button>`
              : nothing}
            <button class="small danger" data-testid="tool-deny" ?disabled=${card.answering} @click=${() => answer(card, "deny")}>Deny</button>
          </span>
          ${card.answerError ? html`<p class="error" role="alert">${card.answerError}</p>` : nothing}
        </div>`
      : nothing}
    ${outcome
      ? html`<details class="tool-result" data-testid="tool-result" data-ok=${outcome.ok ? "true" : "false"}>
          <summary>${outcome.ok ? "Result" : "Error"}${outcome.why ? html` <span class="meta">(${outcome.why})</span>` : nothing}</summary>
          <pre>${pretty(outcome.output)}</pre></details>`
      : nothing}
  </div>`;
}

/** A saved tool result (history): folded, with the call it answers. */
export function renderSavedResult(content: string) {
  return html`<details class="tool-result saved" data-testid="tool-saved-result"><summary>Tool result</summary><pre>${content}</pre></details>`;
}
