/**
 * One debounced, serialised action: calls within `delayMs` of each other collapse into one run,
 * and a run never overlaps the previous one. The extension's single restart path uses it.
 */

export class Debounced {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> = Promise.resolve();
  private waiters: Array<() => void> = [];
  private reasons: string[] = [];
  private active = 0;

  constructor(
    private readonly action: (reasons: string[]) => Promise<void>,
    private readonly delayMs: number,
  ) {}

  /** Ask for a run; resolves when the run that covers this request has finished. */
  trigger(reason: string): Promise<void> {
    this.reasons.push(reason);
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
    }
    const done = new Promise<void>((resolve) => this.waiters.push(resolve));
    this.timer = setTimeout(() => this.fire(), this.delayMs);
    return done;
  }

  private fire(): void {
    this.timer = undefined;
    const waiters = this.waiters;
    const reasons = this.reasons;
    this.waiters = [];
    this.reasons = [];
    this.active++;
    this.running = this.running
      .then(() => this.action(reasons))
      .catch(() => undefined) // the action reports its own errors; the chain must survive them
      .finally(() => {
        this.active--;
        waiters.forEach((w) => w());
      });
  }

  /** Whether a run is waiting for its delay or under way. */
  get busy(): boolean {
    return this.timer !== undefined || this.active > 0;
  }

  /** Drop a pending run (on deactivate). */
  cancel(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.waiters.forEach((w) => w());
    this.waiters = [];
    this.reasons = [];
  }
}
