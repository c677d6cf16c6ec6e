import { LitElement, html, nothing } from "lit";
import { unsafeHTML } from "lit/directives/unsafe-html.js";
import { Channel } from "@tauri-apps/api/core";
import { call, commands, errorKind, errorText } from "../api";
import type { AnswerSource, AnswerStats, AppInfo, ChatEvent, ChatMessageView, SessionSummary } from "../api";
import { renderMarkdown } from "../markdown";
import { renderSavedResult, renderToolCard } from "./tool-cards";
import type { ToolCard } from "./tool-cards";

interface Shown extends ChatMessageView {
  streaming?: boolean;
  error?: string;
  remembered?: string;
  /** The tool calls of the answer as it streams. */
  tools?: ToolCard[];
}

/** What the chat says once feedback is taken. */
const FEEDBACK_SAID: Record<string, string> = { up: "Marked good", down: "Marked poor", edit: "Corrected" };

/** A message shown before the app has saved it (no id yet). */
function unsaved(role: string, content: string): Shown {
  return { id: 0, learnable: false, feedback: null, role, content, stats: null, sources: [], toolCalls: [], toolCallId: null };
}

/** `MEMORY.md:7-9`: a source's file name and lines. */
function sourceLabel(source: AnswerSource): string {
  const file = source.path.split(/[\\/]/).pop() ?? source.path;
  return `${file}:${source.startLine}${source.endLine !== source.startLine ? `-${source.endLine}` : ""}`;
}

function describeStats(stats: AnswerStats): string {
  const parts = [stats.model, `${stats.completionTokens} tokens`];
  const speed = stats.tokensPerSecond ?? 0;
  const firstToken = stats.timeToFirstTokenMs ?? 0;
  if (speed > 0) parts.push(`${speed.toFixed(1)} tok/s`);
  if (firstToken > 0) parts.push(`first token ${Math.round(firstToken)} ms`);
  // How much of the prompt the engine held already (live answers only).
  if (stats.cachedPromptTokens != null && stats.promptTokens > 0)
    parts.push(`${stats.cachedPromptTokens} of ${stats.promptTokens} prompt tokens held`);
  if (stats.finishReason && stats.finishReason !== "stop") parts.push(stats.finishReason === "length" ? "cut at the length limit" : stats.finishReason);
  return parts.join(" · ");
}

function whatToDo(kind: string | null): string {
  switch (kind) {
    case "noModel":
      return "Open Models (Ctrl+2) to load or download a model.";
    case "halted":
      return "Resume the agent from the status bar or the tray.";
    case "busy":
      return "The engine is busy; send again in a moment.";
    default:
      return "";
  }
}

/** Sessions on the left, the conversation on the right, the composer below. */
export class ChatPane extends LitElement {
  static properties = {
    info: { attribute: false },
    sessions: { state: true },
    current: { state: true },
    messages: { state: true },
    draft: { state: true },
    sending: { state: true },
    renaming: { state: true },
    listError: { state: true },
    asked: { state: true },
    editing: { state: true },
    feedbackError: { state: true },
  };
  declare info: AppInfo | null;
  declare sessions: SessionSummary[];
  declare current: string | null;
  declare messages: Shown[];
  declare draft: string;
  declare sending: boolean;
  declare renaming: string | null;
  declare listError: string | null;
  /** Whether the owner answered the first-run training question (null: unknown). */
  declare asked: boolean | null;
  /** The answer being corrected, and the draft. */
  declare editing: { id: number; text: string } | null;
  declare feedbackError: string | null;

  constructor() {
    super();
    this.sessions = [];
    this.current = sessionStorage.getItem("pincer.session");
    this.messages = [];
    this.draft = "";
    this.sending = false;
    this.renaming = null;
    this.listError = null;
    this.asked = null;
    this.editing = null;
    this.feedbackError = null;
  }

  createRenderRoot() {
    return this;
  }

  async connectedCallback() {
    super.connectedCallback();
    this.addEventListener("click", this.onCopy);
    await this.loadSessions();
    if (this.current) await this.open(this.current);
    try {
      this.asked = (await call(commands.dataOverview())).asked;
    } catch {
      this.asked = null;
    }
  }

  /** The first-run question: may the app's chat become training data? */
  async answerConsent(granted: boolean) {
    try {
      this.asked = (await call(commands.setConsent({ source: "app", purpose: null, granted }))).asked;
    } catch (error) {
      this.feedbackError = errorText(error);
    }
  }

  async feedback(m: Shown, feedback: "up" | "down" | "edit", editedAnswer: string | null = null) {
    try {
      const summary = await call(commands.giveFeedback({ messageId: m.id ?? 0, feedback, editedAnswer }));
      m.feedback = summary.feedback;
      this.editing = null;
      this.feedbackError = null;
      this.messages = [...this.messages];
    } catch (error) {
      this.feedbackError = errorText(error);
    }
  }

  onCopy = async (event: Event) => {
    const button = (event.target as HTMLElement).closest("[data-copy]") as HTMLElement | null;
    if (!button) return;
    const text =
      button.dataset.copy ||
      button.closest(".code")?.querySelector("code")?.textContent ||
      button.closest(".message")?.querySelector(".body")?.textContent ||
      "";
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Copy failed";
    }
    setTimeout(() => (button.textContent = "Copy"), 1500);
  };

  async loadSessions() {
    try {
      this.sessions = await call(commands.listSessions());
      this.listError = null;
    } catch (error) {
      this.listError = errorText(error);
    }
  }

  async open(sessionId: string) {
    this.current = sessionId;
    sessionStorage.setItem("pincer.session", sessionId);
    try {
      this.messages = (await call(commands.sessionMessages({ sessionId }))).filter((m) => m.role !== "system");
    } catch (error) {
      if (errorKind(error) === "notFound") {
        this.current = null;
        sessionStorage.removeItem("pincer.session");
      }
      this.messages = [];
    }
    await this.updateComplete;
    this.scrollDown();
  }

  async newSession() {
    this.current = null;
    sessionStorage.removeItem("pincer.session");
    this.messages = [];
    await this.updateComplete;
    (this.querySelector("#composer") as HTMLTextAreaElement | null)?.focus();
  }

  async rename(session: SessionSummary, title: string) {
    this.renaming = null;
    if (!title.trim() || title === session.title) return;
    try {
      await call(commands.renameSession({ sessionId: session.id, title }));
    } catch (error) {
      this.listError = errorText(error);
    }
    await this.loadSessions();
  }

  async deleteSession(session: SessionSummary) {
    if (!confirm(`Delete “${session.title}” and its messages?`)) return;
    try {
      await call(commands.deleteSession({ sessionId: session.id }));
      if (this.current === session.id) await this.newSession();
    } catch (error) {
      this.listError = errorText(error);
    }
    await this.loadSessions();
  }

  scrollDown() {
    const log = this.querySelector(".messages");
    if (log) log.scrollTop = log.scrollHeight;
  }

  async send() {
    const text = this.draft.trim();
    if (!text || this.sending) return;
    this.sending = true;
    const answer: Shown = { ...unsaved("assistant", ""), streaming: true };
    this.messages = [...this.messages, unsaved("user", text), answer];
    this.draft = "";
    const onEvent = new Channel<ChatEvent>();
    onEvent.onmessage = (event) => {
      if (event.type === "started") {
        this.current = event.sessionId;
        sessionStorage.setItem("pincer.session", event.sessionId);
        answer.stats = { model: event.model, finishReason: "", promptTokens: 0, cachedPromptTokens: null, completionTokens: 0, timeToFirstTokenMs: 0, tokensPerSecond: 0 };
        answer.sources = event.sources;
      } else if (event.type === "remembered") {
        answer.remembered = `${sourceLabel({ path: event.note.path, startLine: event.note.line, endLine: event.note.line, provenance: "agent" })}`;
      } else if (event.type === "delta") {
        answer.content += event.text;
      } else if (event.type === "toolCall") {
        answer.tools = [...(answer.tools ?? []), { call: event.call }];
      } else if (event.type === "toolAsk") {
        const card = answer.tools?.find((c) => c.call.callId === event.question.callId);
        if (card) card.question = event.question;
      } else if (event.type === "toolResult") {
        const card = answer.tools?.find((c) => c.call.callId === event.outcome.callId);
        if (card) card.outcome = event.outcome;
      } else if (event.type === "failed") {
        answer.error = event.error.message;
      } else if (event.type === "finished") {
        answer.stats = event.stats;
        answer.streaming = false;
        answer.id = event.messageId ?? 0;
        answer.learnable = event.learnable;
      }
      this.messages = [...this.messages];
      this.updateComplete.then(() => this.scrollDown());
    };
    try {
      await call(commands.sendMessage({ sessionId: this.current, text, maxTokens: null }, onEvent));
    } catch (error) {
      // Nothing was sent: show why in place and give the text back.
      this.messages = this.messages.slice(0, -2);
      this.messages = [...this.messages, { ...unsaved("error", text), error: `${errorText(error)} ${whatToDo(errorKind(error))}`.trim() }];
      this.draft = text;
    } finally {
      answer.streaming = false;
      this.sending = false;
      await this.loadSessions();
    }
  }

  /** The owner answers the gate's question about one call. */
  answerTool = async (card: ToolCard, answer: "allowOnce" | "allowAlways" | "deny") => {
    if (!card.question) return;
    card.answering = true;
    this.messages = [...this.messages];
    try {
      await call(commands.answerToolQuestion({ questionId: card.question.id, answer }));
      card.answerError = undefined;
    } catch (error) {
      card.answering = false;
      card.answerError = errorText(error);
    }
    this.messages = [...this.messages];
  };

  async stop() {
    if (this.current) await call(commands.stopGeneration({ sessionId: this.current }));
  }

  onComposerKey(event: KeyboardEvent) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.send();
    } else if (event.key === "Escape" && this.sending) {
      this.stop();
    }
  }

  renderSession(s: SessionSummary) {
    if (this.renaming === s.id) {
      return html`<li><input class="rename" data-testid="rename-input" .value=${s.title} aria-label="New title"
        @keydown=${(e: KeyboardEvent) => {
          if (e.key === "Enter") this.rename(s, (e.target as HTMLInputElement).value);
          if (e.key === "Escape") this.renaming = null;
        }}
        @blur=${(e: Event) => this.rename(s, (e.target as HTMLInputElement).value)} /></li>`;
    }
    return html`<li class="session ${this.current === s.id ? "active" : ""}">
      <button class="session-open" data-testid="session" title=${s.title} @click=${() => this.open(s.id)}>
        <span class="title">${s.title}</span><span class="meta">${s.source} · ${new Date((s.updatedAt ?? 0) * 1000).toLocaleString()}</span>
      </button>
      <button class="icon" title="Rename" aria-label="Rename ${s.title}" @click=${async () => {
        this.renaming = s.id;
        await this.updateComplete;
        (this.querySelector(".rename") as HTMLInputElement | null)?.select();
      }}>✎</button>
      <button class="icon" title="Delete" aria-label="Delete ${s.title}" data-testid="delete-session" @click=${() => this.deleteSession(s)}>×</button>
    </li>`;
  }

  renderMessage(m: Shown) {
    if (m.role === "error") {
      return html`<div class="message error-message" role="alert" data-testid="chat-error">
        <div class="who">Not sent</div><div class="body">${m.error}</div></div>`;
    }
    if (m.role === "tool") return renderSavedResult(m.content);
    const assistant = m.role === "assistant";
    const cards: ToolCard[] = m.tools ?? m.toolCalls.map((call) => ({ call }));
    return html`<article class="message ${m.role}" data-testid="message-${m.role}">
      <div class="who">${assistant ? "Pincer" : "You"}</div>
      <div class="body ${assistant ? "markdown" : "plain"}">${assistant ? unsafeHTML(renderMarkdown(m.content)) : m.content}${m.streaming ? html`<span class="cursor" aria-hidden="true" data-testid=${m.stats ? "streaming" : "waiting"}>▍</span>` : nothing}</div>
      ${cards.length > 0 ? html`<div class="tool-cards">${cards.map((card) => renderToolCard(card, this.answerTool))}</div>` : nothing}
      ${m.error ? html`<p class="error" role="alert">${m.error}</p>` : nothing}
      ${m.remembered ? html`<p class="remembered" data-testid="remembered">Saved to memory: ${m.remembered}</p>` : nothing}
      ${assistant && m.sources.length > 0 ? html`<footer class="sources" data-testid="answer-sources">From memory:
        ${m.sources.map((s, i) => html`<button class="small source" title=${`${s.path} (${s.provenance})`}
          @click=${() => this.dispatchEvent(new CustomEvent("pincer:open-memory", { bubbles: true, detail: s }))}>[${i + 1}] ${sourceLabel(s)}</button>`)}
      </footer>` : nothing}
      ${assistant && m.stats && !m.streaming ? html`<footer class="stats" data-testid="answer-stats">${describeStats(m.stats)}
        <button class="small" data-copy=${m.content}>Copy</button>${m.learnable ? this.renderFeedback(m) : nothing}</footer>` : nothing}
      ${this.editing && this.editing.id === m.id ? this.renderEdit(m) : nothing}
    </article>`;
  }

  /** Thumbs and "Edit answer" on an answer kept for training. */
  renderFeedback(m: Shown) {
    const button = (kind: "up" | "down", label: string, title: string) => html`<button class="small feedback" data-testid="feedback-${kind}"
      aria-pressed=${m.feedback === kind ? "true" : "false"} title=${title} @click=${() => this.feedback(m, kind)}>${label}</button>`;
    return html`<span class="feedback-bar" data-testid="feedback-bar" data-feedback=${m.feedback ?? ""}>
      ${button("up", "Good", "Good answer: teach Pincer to answer like this")}
      ${button("down", "Poor", "Poor answer: teach Pincer to avoid it")}
      <button class="small feedback" data-testid="feedback-edit" aria-pressed=${m.feedback === "edit" ? "true" : "false"}
        title="Write the answer you wanted" @click=${() => (this.editing = { id: m.id ?? 0, text: m.content })}>Edit answer</button>
      ${m.feedback ? html`<span class="meta" data-testid="feedback-state">${FEEDBACK_SAID[m.feedback] ?? m.feedback}</span>` : nothing}
    </span>`;
  }

  renderEdit(m: Shown) {
    const editing = this.editing!;
    return html`<form class="edit-answer" @submit=${(e: Event) => {
      e.preventDefault();
      this.feedback(m, "edit", editing.text);
    }}>
      <label>The answer you wanted (it teaches Pincer; the chat keeps the original)
        <textarea data-testid="edit-answer" rows="4" .value=${editing.text}
          @input=${(e: Event) => (editing.text = (e.target as HTMLTextAreaElement).value)}></textarea></label>
      <button class="primary small" type="submit" data-testid="edit-save">Save correction</button>
      <button class="small" type="button" @click=${() => (this.editing = null)}>Cancel</button>
    </form>`;
  }

  renderConsentQuestion() {
    return html`<div class="notice banner consent-question" role="region" aria-label="Training consent" data-testid="consent-question">
      <strong>Let Pincer learn from your chats?</strong>
      With your consent, answers here and what you say next are kept on this machine as training data, judged in the background,
      and used only by training runs you start. You can withdraw at any time in Training data.
      <span class="actions">
        <button class="small primary" data-testid="consent-allow" @click=${() => this.answerConsent(true)}>Allow</button>
        <button class="small" data-testid="consent-decline" @click=${() => this.answerConsent(false)}>Not now</button>
      </span>
    </div>`;
  }

  render() {
    const noModel = this.info && !this.info.model;
    return html`<div class="chat">
      <aside class="sessions">
        <button class="primary wide" data-testid="new-session" @click=${() => this.newSession()}>New chat</button>
        ${this.listError ? html`<p class="error" role="alert">${this.listError}</p>` : nothing}
        <ul>${this.sessions.map((s) => this.renderSession(s))}</ul>
      </aside>
      <section class="conversation">
        ${this.asked === false ? this.renderConsentQuestion() : nothing}
        ${this.feedbackError ? html`<p class="error banner" role="alert" data-testid="feedback-error">${this.feedbackError}</p>` : nothing}
        <div class="messages" aria-live="polite">
          ${this.messages.length === 0
            ? html`<div class="empty"><h2>What can I help with?</h2>
                <p>${noModel ? html`No model is loaded yet. <a href="#" @click=${(e: Event) => { e.preventDefault(); this.dispatchEvent(new CustomEvent("pincer:pane", { bubbles: true, detail: "models" })); }}>Load one in Models</a> (Ctrl+2).` : "Answers run on this machine. Enter sends, Shift+Enter adds a line, Esc stops."}</p></div>`
            : this.messages.map((m) => this.renderMessage(m))}
        </div>
        <form class="composer" @submit=${(e: Event) => { e.preventDefault(); this.send(); }}>
          <textarea id="composer" data-testid="composer" rows="3" placeholder="Message Pincer…" aria-label="Message"
            .value=${this.draft} @input=${(e: Event) => (this.draft = (e.target as HTMLTextAreaElement).value)}
            @keydown=${(e: KeyboardEvent) => this.onComposerKey(e)}></textarea>
          ${this.sending
            ? html`<button type="button" class="danger" data-testid="stop" @click=${() => this.stop()}>Stop</button>`
            : html`<button type="submit" class="primary" data-testid="send" ?disabled=${!this.draft.trim()}>Send</button>`}
        </form>
      </section>
    </div>`;
  }
}

customElements.define("chat-pane", ChatPane);
