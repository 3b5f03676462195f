import TinyQueue from 'tinyqueue';
import type { SimSeconds } from './types.js';

interface Task {
  /** Wall time (performance.now() ms) the task is due at. */
  dueMs: number;
  /** Tie-breaker: tasks due at the same time run in the order they were scheduled. */
  order: number;
  run: (scheduledMs: number) => void;
}

/**
 * The simulator's one clock and one loop. Simulated time runs `speed` times faster than the
 * wall clock from `start()`. Every agent action is a task in one priority queue; a single timer
 * wakes the loop for the earliest one — no timer per agent, so 20,000 drivers cost a heap, not
 * 20,000 timers. A task gets the wall time it was due at, which is what open-model latency
 * counts from: a loop that falls behind shows as latency, never as a quieter schedule.
 */
export const createScheduler = (speed: number) => {
  const queue = new TinyQueue<Task>([], (a, b) => a.dueMs - b.dueMs || a.order - b.order);
  let startMs = performance.now();
  let order = 0;
  let timer: NodeJS.Timeout | undefined;
  let wakeAtMs = Number.POSITIVE_INFINITY;
  let running = false;

  const wallMsAt = (at: SimSeconds) => startMs + (at * 1000) / speed;

  const drain = () => {
    timer = undefined;
    wakeAtMs = Number.POSITIVE_INFINITY;
    if (!running) return;
    const now = performance.now();
    // Tasks scheduled while draining for "now" run in this turn too, up to a bound, so one
    // burst cannot starve the I/O callbacks that answers arrive on.
    for (let ran = 0; ran < 5000; ran++) {
      const next = queue.peek();
      if (!next || next.dueMs > now) break;
      queue.pop();
      next.run(next.dueMs);
    }
    arm();
  };

  const arm = () => {
    const next = queue.peek();
    if (!running || !next || next.dueMs >= wakeAtMs) return;
    if (timer) clearTimeout(timer);
    wakeAtMs = next.dueMs;
    timer = setTimeout(drain, Math.max(0, next.dueMs - performance.now()));
  };

  return {
    speed,
    /** Simulated seconds since start. */
    now: (): SimSeconds => ((performance.now() - startMs) * speed) / 1000,
    wallMsAt,
    /** Runs `run` at simulated time `at` (at once when that is past). */
    at(at: SimSeconds, run: (scheduledMs: number) => void) {
      queue.push({ dueMs: wallMsAt(at), order: order++, run });
      arm();
    },
    /** Runs `run` after `seconds` of wall time, whatever the speed: the platform's own clocks are not compressed. */
    afterWall(seconds: number, run: (scheduledMs: number) => void) {
      queue.push({ dueMs: (running ? performance.now() : startMs) + seconds * 1000, order: order++, run });
      arm();
    },
    /**
     * Starts the clock. Tasks queued before (the fleet's first reports, queued while it went
     * online) count from the start: they would otherwise all be overdue at once, a burst the
     * scenario never asked for, with the setup's length in their latency.
     */
    start() {
      const shiftMs = performance.now() - startMs;
      startMs += shiftMs;
      const queued: Task[] = [];
      while (queue.length > 0) queued.push(queue.pop() as Task);
      for (const task of queued) queue.push({ ...task, dueMs: task.dueMs + shiftMs });
      running = true;
      arm();
    },
    stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      wakeAtMs = Number.POSITIVE_INFINITY;
    },
    pending: () => queue.length,
  };
};

export type Scheduler = ReturnType<typeof createScheduler>;
