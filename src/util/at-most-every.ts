/**
 * Lets a chore through at most once per `intervalMs`: purging expired rows on the way
 * past a write instead of on a timer. The clock starts at 0, so the first call passes
 * once `now ≥ intervalMs`.
 */
export class AtMostEvery {
  #last = 0;

  constructor(readonly intervalMs: number) {}

  /** True (and the interval starts again) when `intervalMs` have passed since the last true. */
  due(now: number): boolean {
    if (now - this.#last < this.intervalMs) return false;
    this.#last = now;
    return true;
  }
}
