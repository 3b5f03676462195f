import type { SupplyAt } from '../dispatch/surge.js';
import type { FlowDeps } from './ports.js';

/** Surge supply: the fresh available drivers the index holds around a point, at `now`. */
export const supplyAround =
  ({ supply, settings }: Pick<FlowDeps, 'supply' | 'settings'>, now: Date): SupplyAt =>
  (point, radiusMeters) =>
    supply.countAvailable({
      point,
      radiusMeters,
      nowMs: now.getTime(),
      staleAfterMs: settings.driverStaleAfterMs,
    });
