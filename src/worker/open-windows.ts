import {
  dueAt,
  flushReason,
  recordFile,
  type DebounceTiming,
  type FlushReason,
  type WindowActivity,
} from './debounce.ts';
import { WindowBuffer, type FileIndex } from './window-buffer.ts';

/**
 * The windows currently open, one per UTC hour, and the one timer that closes them when due (debounce.ts
 * decides when). Closing hands the window to `onClose`, which flushes it; a later file of the same hour
 * opens a new window.
 */

export interface OpenWindow {
  /** Task name the held messages of this window wait for. */
  task: string;
  buffer: WindowBuffer;
  activity: WindowActivity;
}

export interface OpenWindowsOptions {
  timing: DebounceTiming;
  now: () => number;
  /** Names (and registers) the task of a new window. */
  newTask: (name: string) => string;
  onClose: (open: OpenWindow, reason: FlushReason) => void;
}

export class OpenWindows {
  readonly #o: OpenWindowsOptions;
  readonly #byHour = new Map<string, OpenWindow>();
  #timer: NodeJS.Timeout | undefined;
  #frozen = false;

  constructor(options: OpenWindowsOptions) {
    this.#o = options;
  }

  get size(): number {
    return this.#byHour.size;
  }

  get(window: string): OpenWindow | undefined {
    return this.#byHour.get(window);
  }

  /** Adds a fully read file to the open window of its hour (opening one if needed). */
  addFile(window: string, file: FileIndex, redelivered: boolean): OpenWindow {
    let open = this.#byHour.get(window);
    if (!open) {
      const now = this.#o.now();
      open = {
        task: this.#o.newTask(`window:${window}`),
        buffer: new WindowBuffer(window),
        activity: { openedAt: now, lastFileAt: now, items: 0 },
      };
      this.#byHour.set(window, open);
    }
    if (!open.buffer.hasSource(file.source)) open.buffer.addFile(file);
    // The same file version came twice while it was being read: the window has its items already.
    else file.spool?.remove();
    open.buffer.redelivered ||= redelivered;
    open.activity = recordFile(open.activity, this.#o.now(), open.buffer.size);
    return open;
  }

  /** Closes every due window and sets one timer for the next one. */
  schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#frozen) return;
    const now = this.#o.now();
    let next = Number.POSITIVE_INFINITY;
    for (const open of [...this.#byHour.values()]) {
      const reason = flushReason(open.activity, now, this.#o.timing);
      if (reason) this.close(open, reason);
      else next = Math.min(next, dueAt(open.activity, this.#o.timing));
    }
    if (next < Number.POSITIVE_INFINITY) {
      this.#timer = setTimeout(() => this.schedule(), Math.max(0, next - now));
    }
  }

  close(open: OpenWindow, reason: FlushReason): void {
    if (this.#byHour.get(open.buffer.window) !== open) return;
    this.#byHour.delete(open.buffer.window);
    this.#o.onClose(open, reason);
  }

  closeAll(reason: FlushReason): void {
    for (const open of [...this.#byHour.values()]) this.close(open, reason);
  }

  /** Stops the timer for good (shutdown, halt); returns the windows still open. */
  freeze(): OpenWindow[] {
    this.#frozen = true;
    clearTimeout(this.#timer);
    return [...this.#byHour.values()];
  }

  /** Forgets every open window without flushing it. */
  discard(): OpenWindow[] {
    const left = this.freeze();
    this.#byHour.clear();
    return left;
  }

  /** Accepts and schedules windows again after a halt (a shutdown never thaws). */
  thaw(): void {
    this.#frozen = false;
  }
}
