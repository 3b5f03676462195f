import type { FlowDeps } from './ports.js';

/**
 * Per-city readings for operators (metrics gauges), each keyed by city id. All are cheap: two
 * are local reads (the supply replica, the surge model); the database one is a single grouped
 * count that the caller is expected to cache.
 */
export const createCitySignals = ({ uow, supply, surge, clock, cities, settings }: FlowDeps) => {
  const areas = cities.map((city) => city.area);
  return {
    /** Fresh available drivers inside each city's service area, as this process's replica sees them. */
    availableDrivers(): Record<string, number> {
      const counts = supply.countAvailableWithin({
        areas,
        nowMs: clock.now().getTime(),
        staleAfterMs: settings.driverStaleAfterMs,
      });
      return Object.fromEntries(cities.map((city, i) => [city.id, counts[i] ?? 0]));
    },

    /** Rides searching for a driver, per city (0 for a served city with none). */
    async openRequests(): Promise<Record<string, number>> {
      const searching = await uow.stores.rides.searchingCountByCity();
      return Object.fromEntries(cities.map((city) => [city.id, searching[city.id] ?? 0]));
    },

    /** The highest surge a quote in each city would get now, per this process's surge model. */
    highestSurge(): Record<string, number> {
      const nowMs = clock.now().getTime();
      return Object.fromEntries(cities.map((city) => [city.id, surge.highestMultiplier(city.id, nowMs)]));
    },
  };
};

export type CitySignals = ReturnType<typeof createCitySignals>;
