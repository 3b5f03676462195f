import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBackendHealth } from '../../src/ops/backend-health.js';

const INTERVAL_MS = 1000;
const TIMEOUT_MS = 300;

type Outcome = 'ok' | 'fails' | 'slow';

/**
 * A backend whose probes answer as scripted, one outcome per round, and a health module probing it
 * on fake timers: `round()` lets exactly one more round run.
 */
const scripted = (...outcomes: Outcome[]) => {
  const script = [...outcomes];
  const logs: Array<{ level: 'info' | 'warn'; msg: string | undefined }> = [];
  let probes = 0;
  const health = createBackendHealth(
    {
      postgres: () => {
        probes++;
        const outcome = script.shift() ?? 'ok';
        if (outcome === 'fails') return Promise.reject(new Error('connection refused'));
        // Answers, but long after the probe has timed out.
        if (outcome === 'slow') return new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS * 10));
        return Promise.resolve();
      },
    },
    { intervalMs: INTERVAL_MS, timeoutMs: TIMEOUT_MS, downAfter: 2 },
    {
      info: (_obj, msg) => logs.push({ level: 'info', msg }),
      warn: (_obj, msg) => logs.push({ level: 'warn', msg }),
    },
  );
  return {
    health,
    logs,
    get probes() {
      return probes;
    },
    /** Starts probing: the first round runs before this resolves. */
    async start() {
      const started = health.start();
      await vi.advanceTimersByTimeAsync(TIMEOUT_MS);
      await started;
    },
    /** Runs the clock until the next round probes, then until that round has ended. */
    async round() {
      const before = probes;
      for (let waited = 0; probes === before && waited <= INTERVAL_MS; waited += 10) {
        await vi.advanceTimersByTimeAsync(10);
      }
      // Ends within the timeout, and the round after it is an interval away.
      await vi.advanceTimersByTimeAsync(TIMEOUT_MS);
    },
  };
};

describe('backend health', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('When one probe fails, then the backend is not marked down; when the next fails too, it is', async () => {
    const backend = scripted('ok', 'fails', 'fails');
    await backend.start();
    expect(backend.health.down()).toEqual([]);

    await backend.round();
    expect(backend.probes).toBe(2);
    expect(backend.health.down()).toEqual([]);
    expect(backend.logs).toEqual([]);

    await backend.round();
    expect(backend.probes).toBe(3);
    expect(backend.health.down()).toEqual(['postgres']);
    expect(backend.logs).toEqual([{ level: 'warn', msg: 'backend unreachable' }]);
    backend.health.stop();
  });

  it('When a probe is slower than the timeout, then it counts as a failure like any other', async () => {
    const backend = scripted('ok', 'slow', 'ok', 'slow', 'slow');
    await backend.start();
    await backend.round();
    expect(backend.health.down()).toEqual([]);
    // The success in between starts the count again.
    await backend.round();
    await backend.round();
    expect(backend.health.down()).toEqual([]);
    await backend.round();
    expect(backend.probes).toBe(5);
    expect(backend.health.down()).toEqual(['postgres']);
    backend.health.stop();
  });

  it('When a backend marked down answers one probe, then it is up again at once', async () => {
    const backend = scripted('fails', 'fails', 'fails', 'ok', 'fails');
    await backend.start();
    await backend.round();
    await backend.round();
    expect(backend.health.down()).toEqual(['postgres']);

    await backend.round();
    expect(backend.health.down()).toEqual([]);
    expect(backend.logs).toEqual([
      { level: 'warn', msg: 'backend unreachable' },
      { level: 'info', msg: 'backend reachable again' },
    ]);

    // Up again, one failure is one failure: not down.
    await backend.round();
    expect(backend.probes).toBe(5);
    expect(backend.health.down()).toEqual([]);
    backend.health.stop();
  });

  it('When the number of failures that marks a backend down is not a whole number of at least 1, then it is refused', () => {
    const logger = { info() {}, warn() {} };
    for (const downAfter of [0, 1.5, Number.NaN]) {
      expect(() =>
        createBackendHealth({ postgres: async () => {} }, { intervalMs: 1, timeoutMs: 1, downAfter }, logger),
      ).toThrow(/downAfter/);
    }
  });
});
