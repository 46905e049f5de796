/**
 * A discrete-event clock for the benchmark.
 *
 * Why not `VirtualClock` from lambda/aws/clock.ts: that one advances time inside `sleep`, so two
 * concurrent sleeps of 1 s add up to 2 s. Here `sleep` only registers a timer; a driver lets every
 * runnable promise settle, then jumps virtual time to the earliest timer and wakes it. Concurrent
 * waits therefore overlap exactly as they would on a real clock, and a 30-minute remediation of
 * 10,000 instances runs in seconds of CPU.
 */
import type { Clock } from '../../lambda/aws/clock';

interface Timer {
  readonly due: number;
  readonly seq: number;
  readonly resolve: () => void;
}

/** Options of {@link DiscreteEventClock}. */
export interface DiscreteEventClockOptions {
  /** Virtual start time (ms since the epoch). @default 2026-01-01T00:00:00Z */
  readonly startMs?: number;
  /**
   * Event-loop turns (`setImmediate`) to let pending work settle before time jumps. Microtasks
   * always drain within one turn; more turns tolerate work that hops through real I/O callbacks.
   * @default 2
   */
  readonly settleTurns?: number;
  /** Called every `sampleEvery` timer firings (e.g. to sample memory). */
  readonly onTick?: () => void;
  /** @default 200 */
  readonly sampleEvery?: number;
}

/** Thrown when the work can neither progress nor wait on a timer: an engine bug or a missing mock. */
export class DeadlockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeadlockError';
  }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A min-heap keyed by (due, seq) so equal due times fire in registration order. */
class TimerHeap {
  private readonly a: Timer[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): Timer | undefined {
    return this.a[0];
  }
  push(t: Timer): void {
    const a = this.a;
    a.push(t);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): Timer | undefined {
    const a = this.a;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l]!, a[m]!)) m = l;
        if (r < a.length && less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function less(x: Timer, y: Timer): boolean {
  return x.due < y.due || (x.due === y.due && x.seq < y.seq);
}

/**
 * The benchmark's clock: implements the engines' `Clock` and drives work to completion on
 * virtual time with {@link DiscreteEventClock.run}.
 */
export class DiscreteEventClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers = new TimerHeap();
  private readonly settleTurns: number;
  /** Timers fired so far (a measure of simulation work). */
  public fired = 0;
  /** Times the driver found no timer and waited for real I/O (should stay near 0). */
  public idleWaits = 0;

  constructor(private readonly options: DiscreteEventClockOptions = {}) {
    this.t = options.startMs ?? Date.UTC(2026, 0, 1);
    this.settleTurns = Math.max(1, options.settleTurns ?? 2);
  }

  /** Virtual ms since the epoch. */
  now(): number {
    return this.t;
  }

  /**
   * Resolves when virtual time reaches now + ms. Even `sleep(0)` goes through the timer queue, so a
   * polling loop always yields to the driver instead of spinning in microtasks.
   */
  sleep(ms: number): Promise<void> {
    const d = Number.isFinite(ms) && ms > 0 ? ms : 0;
    return new Promise<void>((resolve) => {
      this.timers.push({ due: this.t + d, seq: this.seq++, resolve });
    });
  }

  /** Number of timers waiting. */
  get pending(): number {
    return this.timers.size;
  }

  /**
   * Runs `work` to completion on virtual time and returns its result (or rethrows its error).
   * Time only moves when nothing else can run. Throws {@link DeadlockError} when the work is stuck
   * with no timer to wait for, or when virtual time stops moving for a million timer firings.
   */
  async run<T>(work: () => Promise<T>): Promise<T> {
    let settled = false;
    let ok = false;
    let value: T | undefined;
    let error: unknown;
    work().then(
      (v) => {
        settled = true;
        ok = true;
        value = v;
      },
      (e: unknown) => {
        settled = true;
        error = e;
      },
    );
    let idle = 0;
    let stuckAt = this.t;
    let stuckFirings = 0;
    const sampleEvery = this.options.sampleEvery ?? 200;
    let lastSample = this.fired;
    while (!settled) {
      for (let i = 0; i < this.settleTurns && !settled; i++) await turn();
      if (settled) break;
      const next = this.timers.pop();
      if (!next) {
        // Something may be waiting on real I/O (zlib, fs); give it real time before calling it a deadlock.
        this.idleWaits++;
        if (++idle > 200) throw new DeadlockError('work is pending but no virtual timer is set (a promise that never settles?)');
        await new Promise((resolve) => setTimeout(resolve, 2));
        continue;
      }
      idle = 0;
      this.t = Math.max(this.t, next.due);
      next.resolve();
      this.fired++;
      // Wake every timer due at the same instant together: fewer settle rounds, same semantics.
      while (this.timers.peek() && this.timers.peek()!.due <= this.t) {
        this.timers.pop()!.resolve();
        this.fired++;
      }
      if (this.options.onTick && this.fired - lastSample >= sampleEvery) {
        lastSample = this.fired;
        this.options.onTick();
      }
      if (this.t === stuckAt) {
        if (++stuckFirings > 1_000_000) throw new DeadlockError(`virtual time stuck at ${new Date(this.t).toISOString()} (a zero-delay polling loop?)`);
      } else {
        stuckAt = this.t;
        stuckFirings = 0;
      }
    }
    if (!ok) throw error;
    return value as T;
  }
}
