import { describe, expect, it } from 'vitest';
import { createShedController } from '../../src/ops/load-shedding.js';

const calm = { eventLoopDelayMs: 1, eventLoopUtilization: 0.3 };
const saturated = { eventLoopDelayMs: 1, eventLoopUtilization: 0.99 };
const lagging = { eventLoopDelayMs: 200, eventLoopUtilization: 0.3 };
const thresholds = { maxEventLoopDelayMs: 50, maxEventLoopUtilization: 0.9 };

describe('shed controller', () => {
  it('When the loop keeps up, then nothing is shed', () => {
    const controller = createShedController(thresholds);
    for (let i = 0; i < 10; i++) expect(controller.sample(calm)).toBe(0);
    expect(controller.sheds('sheddable', () => 0)).toBe(false);
  });

  it('When one sample is over a threshold, then it is taken for noise and nothing is shed', () => {
    const controller = createShedController(thresholds);
    expect(controller.sample(saturated)).toBe(0);
    expect(controller.sample(calm)).toBe(0);
    expect(controller.sample(lagging)).toBe(0);
  });

  it('When the loop stays saturated, then the refused share of the sheddable class grows towards all', () => {
    const controller = createShedController(thresholds);
    const shares = Array.from({ length: 8 }, () => controller.sample(saturated));
    expect(shares[1]).toBe(0.5);
    for (let i = 2; i < shares.length; i++) expect(shares[i]).toBeGreaterThan(shares[i - 1] ?? 0);
    expect(controller.shedShare).toBeGreaterThan(0.99);
    expect(controller.sheds('sheddable', () => 0.5)).toBe(true);
  });

  it('When the delay alone is over its threshold, then it sheds too', () => {
    const controller = createShedController(thresholds);
    controller.sample(lagging);
    expect(controller.sample(lagging)).toBe(0.5);
  });

  it('When shedding, then the critical class is never refused', () => {
    const controller = createShedController(thresholds);
    for (let i = 0; i < 20; i++) controller.sample(saturated);
    expect(controller.sheds('critical', () => 0)).toBe(false);
  });

  it('When the loop recovers, then the share comes back by steps, not at once', () => {
    const controller = createShedController(thresholds);
    for (let i = 0; i < 20; i++) controller.sample(saturated);
    const first = controller.sample(calm);
    expect(first).toBeGreaterThan(0.8);
    let share = first;
    for (let i = 0; i < 20; i++) share = controller.sample(calm);
    expect(share).toBe(0);
  });

  it('When a signal threshold is 0, then that signal is ignored', () => {
    const controller = createShedController({ maxEventLoopDelayMs: 0, maxEventLoopUtilization: 0.9 });
    for (let i = 0; i < 5; i++)
      expect(controller.sample({ eventLoopDelayMs: 10_000, eventLoopUtilization: 0.1 })).toBe(0);
  });

  it('When sheddable requests arrive at a given refused share, then about that share is refused', () => {
    const controller = createShedController(thresholds);
    controller.sample(saturated);
    controller.sample(saturated); // refused share 0.5
    let seed = 1;
    const random = () => {
      seed = (seed * 16_807) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    let refused = 0;
    for (let i = 0; i < 10_000; i++) if (controller.sheds('sheddable', random)) refused++;
    expect(refused / 10_000).toBeGreaterThan(0.45);
    expect(refused / 10_000).toBeLessThan(0.55);
  });
});
