import { LitElement, html, nothing } from "lit";
import { call, commands, errorText } from "../api";
import type { AppInfo, BackupsView } from "../api";

/** Megabytes with one decimal, kilobytes below one. */
function size(bytes: number): string {
  return bytes >= 1_000_000 ? `${(bytes / 1_000_000).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1000))} kB`;
}

/** Settings → Backups: the list, "Back up now", checking one, the folder, and a restore at the next start. */
export class BackupsCard extends LitElement {
  static properties = {
    info: { attribute: false },
    view: { state: true },
    folder: { state: true },
    problem: { state: true },
    notice: { state: true },
    busy: { state: true },
  };
  declare info: AppInfo | null;
  declare view: BackupsView | null;
  declare folder: string;
  declare problem: string | null;
  declare notice: string | null;
  declare busy: boolean;
  private folderEdited = false;

  constructor() {
    super();
    this.info = null;
    this.view = null;
    this.folder = "";
    this.problem = null;
    this.notice = null;
    this.busy = false;
  }

  createRenderRoot() {
    return this;
  }

  async connectedCallback() {
    super.connectedCallback();
    await this.run(async () => this.show(await call(commands.backupsOverview())));
  }

  show(view: BackupsView) {
    this.view = view;
    if (!this.folderEdited) this.folder = view.defaultFolder ? "" : view.folder;
  }

  /** Runs one action, showing its failure; the list stays as it was. */
  async run(action: () => Promise<void>) {
    this.busy = true;
    try {
      await action();
      this.problem = null;
    } catch (error) {
      this.problem = errorText(error);
      this.notice = null;
    } finally {
      this.busy = false;
    }
  }

  backUpNow() {
    return this.run(async () => {
      this.show(await call(commands.takeBackup()));
      this.notice = `Backed up: ${this.view?.backups[0]?.id ?? ""}.`;
    });
  }

  check(id: string) {
    return this.run(async () => {
      const found = await call(commands.checkBackup({ id }));
      if (found.problem) throw new Error(`${id} cannot be restored: ${found.problem}`);
      this.notice = `${id} is intact: SQLite's full check passed and its audit log of ${found.auditRecords} records verifies.`;
    });
  }

  restoreAtStart(id: string) {
    const ask = `Restore ${id} when Pincer next starts? What was saved after it (chats, memory, training records) is replaced; the current files are kept aside, not deleted.`;
    if (!confirm(ask)) return;
    return this.run(async () => {
      this.show(await call(commands.restoreBackupAtStart({ id })));
      this.notice = this.restartHint();
    });
  }

  cancelRestore() {
    return this.run(async () => {
      this.show(await call(commands.cancelRestoreAtStart()));
      this.notice = "The restore was taken back; nothing changes at the next start.";
    });
  }

  saveFolder(path: string | null) {
    return this.run(async () => {
      this.show(await call(commands.setBackupFolder({ path })));
      this.folderEdited = false;
      this.folder = this.view?.defaultFolder ? "" : (this.view?.folder ?? "");
      this.notice = path ? `New backups go to ${this.view?.folder}.` : "New backups go to the data folder.";
    });
  }

  restartHint(): string {
    return this.info?.mode === "web"
      ? "It is checked and waiting: stop `pincer serve` and start it again to restore."
      : "It is checked and waiting: quit Pincer and open it again to restore.";
  }

  render() {
    const v = this.view;
    return html`<section class="card" data-testid="backups">
      <h2>Backups</h2>
      <p>A copy of the database and the workspace's markdown is taken every ${v?.everyHours ?? 24} hours while Pincer runs, and before
        every upgrade of the database; the newest ${v?.keep ?? 7} of each are kept. If the database is lost or damaged, a restore brings
        back everything up to the backup; what came after it is lost.</p>
      ${this.problem ? html`<p class="error" role="alert" data-testid="backups-error">${this.problem}</p>` : nothing}
      ${this.notice ? html`<p class="notice" data-testid="backups-notice">${this.notice}</p>` : nothing}
      ${v?.restoreAtStart
        ? html`<p class="notice row" data-testid="restore-pending">
            <span><strong>${v.restoreAtStart}</strong> will be restored when Pincer next starts. ${this.restartHint().split(": ")[1]}</span>
            <button class="small" data-testid="restore-cancel" ?disabled=${this.busy} @click=${() => this.cancelRestore()}>Take back</button>
          </p>`
        : nothing}
      ${v?.lastRestore
        ? html`<p class=${v.lastRestoreOk ? "meta" : "error"} data-testid="last-restore">Last restore: ${v.lastRestore}</p>`
        : nothing}
      <div class="row">
        <button class="primary small" data-testid="backup-now" ?disabled=${this.busy} @click=${() => this.backUpNow()}>Back up now</button>
        <span class="meta">${v ? `${v.backups.length} backup(s) in ${v.folder}` : ""}</span>
      </div>
      <table class="security-table" aria-label="Backups">
        ${(v?.backups ?? []).map(
          (b) => html`<tr data-testid="backup" data-id=${b.id}>
            <td>${new Date(b.createdAtMs ?? 0).toLocaleString()}</td>
            <td>${b.reason}</td>
            <td>${size(b.bytes ?? 0)} · ${b.files} files · audit to ${b.auditRecords ?? 0}</td>
            <td>
              <button class="small" data-testid="backup-check" ?disabled=${this.busy} @click=${() => this.check(b.id)}>Check</button>
              <button class="small danger" data-testid="backup-restore" ?disabled=${this.busy} @click=${() => this.restoreAtStart(b.id)}>Restore…</button>
            </td>
          </tr>`,
        )}
      </table>
      <form class="row" @submit=${(e: Event) => { e.preventDefault(); this.saveFolder(this.folder.trim() || null); }}>
        <label for="backup-folder">Folder</label>
        <input id="backup-folder" data-testid="backup-folder" placeholder="the data folder's backups" .value=${this.folder}
          @input=${(e: Event) => { this.folder = (e.target as HTMLInputElement).value; this.folderEdited = true; }} />
        <button class="small" type="submit" data-testid="backup-folder-save" ?disabled=${this.busy}>Use</button>
        ${v && !v.defaultFolder
          ? html`<button class="small" type="button" data-testid="backup-folder-reset" ?disabled=${this.busy} @click=${() => this.saveFolder(null)}>Data folder</button>`
          : nothing}
      </form>
      <p class="meta">A folder on another disk keeps the copies when this one fails. Backups already taken stay where they are and still show here when they are in the data folder.</p>
    </section>`;
  }
}

customElements.define("backups-card", BackupsCard);
