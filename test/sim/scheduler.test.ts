import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createScheduler } from '../../src/sim/scheduler.js';

describe('the simulator scheduler', () => {
  it('When tasks are queued before the clock starts, then they run that long after the start, not at once', async () => {
    const scheduler = createScheduler(1);
    const ran: { name: string; afterStartMs: number; scheduledAfterStartMs: number }[] = [];
    let startedAt = 0;
    const record = (name: string) => (scheduledMs: number) =>
      ran.push({
        name,
        afterStartMs: performance.now() - startedAt,
        scheduledAfterStartMs: scheduledMs - startedAt,
      });
    scheduler.afterWall(0.1, record('wall 100 ms'));
    scheduler.at(0.05, record('sim 50 ms'));
    // The setup takes a while (the fleet going online) before the clock starts.
    await sleep(200);
    startedAt = performance.now();
    scheduler.start();
    await sleep(300);
    scheduler.stop();
    expect(ran.map((task) => task.name)).toEqual(['sim 50 ms', 'wall 100 ms']);
    for (const task of ran) {
      // Due 50 and 100 ms after the start: not overdue by the setup's 200 ms.
      expect(task.scheduledAfterStartMs).toBeGreaterThanOrEqual(40);
      expect(task.scheduledAfterStartMs).toBeLessThan(110);
      expect(task.afterStartMs).toBeGreaterThanOrEqual(task.scheduledAfterStartMs - 1);
    }
  });

  it('When simulated time runs 10x, then a task at simulated second 1 runs after a tenth of a wall second, and wall tasks are not compressed', async () => {
    const scheduler = createScheduler(10);
    scheduler.start();
    const startedAt = performance.now();
    const ran: [string, number][] = [];
    scheduler.at(1, () => ran.push(['sim 1 s', performance.now() - startedAt]));
    scheduler.afterWall(0.2, () => ran.push(['wall 200 ms', performance.now() - startedAt]));
    await sleep(350);
    scheduler.stop();
    expect(ran.map(([name]) => name)).toEqual(['sim 1 s', 'wall 200 ms']);
    expect(ran[0]![1]).toBeGreaterThanOrEqual(99);
    expect(ran[1]![1]).toBeGreaterThanOrEqual(199);
    expect(scheduler.pending()).toBe(0);
  });
});
