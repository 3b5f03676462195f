import { cityAt } from '../domain/city.js';
import { DomainError } from '../domain/errors.js';
import type { LatLng } from '../domain/geo.js';
import type { FlowDeps } from './ports.js';
import { supplyAround } from './surge-supply.js';

/** Rings of neighbours listed around the point's cell: the cell and the six around it. */
const ZONE_RINGS = 1;

export const createZoneFlows = (deps: FlowDeps) => ({
  /**
   * Supply, demand and surge of the H3 cell of the point and its neighbours, for ops. The surge
   * shown for a cell is the one a quote picked up there gets at this instant.
   */
  zonesAround(point: LatLng) {
    const city = cityAt(point, deps.cities);
    if (!city) throw new DomainError('ZONE.OUTSIDE_SERVICE_AREA', 'The point is outside every served city.');
    const now = deps.clock.now();
    const zones = deps.surge.zones(city.id, point, ZONE_RINGS, now.getTime(), supplyAround(deps, now));
    return { city, zones };
  },
});
