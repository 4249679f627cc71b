// One download per file in this process, however many callers wait on it.

/**
 * A task several callers wait on. Each caller's signal rejects only that caller; the task
 * itself is aborted once every caller that could abort has done so.
 */
export class SharedTask<T> {
  readonly promise: Promise<T>;
  private readonly controller = new AbortController();
  private waiting = 0;

  constructor(run: (signal: AbortSignal) => Promise<T>) {
    this.promise = run(this.controller.signal);
  }

  /** Every caller gave up; a new caller must start a new task (it waits for this one's lock). */
  get cancelled(): boolean {
    return this.controller.signal.aborted;
  }

  join(signal: AbortSignal | undefined): Promise<T> {
    if (!signal) {
      this.waiting = Number.POSITIVE_INFINITY; // a caller that cannot abort keeps the task alive
      return this.promise;
    }
    signal.throwIfAborted();
    this.waiting += 1;
    return new Promise<T>((resolvePromise, reject) => {
      const onAbort = () => {
        this.waiting -= 1;
        if (this.waiting > 0) return reject(signal.reason);
        // The last interested caller: cancel the task and let it clean up (lock, part file) first.
        this.controller.abort(signal.reason);
        const rejectWithReason = () => reject(signal.reason);
        this.promise.then(rejectWithReason, rejectWithReason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.promise.then(
        (value) => {
          signal.removeEventListener("abort", onAbort);
          resolvePromise(value);
        },
        (error: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        },
      );
    });
  }
}
