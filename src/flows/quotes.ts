import { randomUUID } from 'node:crypto';
import { cityAt } from '../domain/city.js';
import { DomainError } from '../domain/errors.js';
import { isInside, type LatLng } from '../domain/geo.js';
import { estimateTrip, priceTrip } from '../domain/pricing.js';
import type { FlowDeps, Quote } from './ports.js';
import { supplyAround } from './surge-supply.js';

export const createQuoteFlows = (deps: FlowDeps) => ({
  /** Prices a trip upfront and keeps the quote, bound to this rider, for a short while. */
  async requestQuote(riderId: string, pickup: LatLng, dropoff: LatLng): Promise<Quote> {
    const { uow, supply, clock, cities, routing, surge, settings } = deps;
    const city = cityAt(pickup, cities);
    if (!city)
      throw new DomainError('QUOTE.OUTSIDE_SERVICE_AREA', 'The pickup is outside every served city.');
    if (!isInside(city.area, dropoff)) {
      throw new DomainError(
        'QUOTE.OUTSIDE_SERVICE_AREA',
        `The drop-off is outside the ${city.name} service area.`,
      );
    }
    const now = clock.now();
    const trip = estimateTrip(pickup, dropoff, city.road, now);
    const multiplier = surge.multiplier(city.id, pickup, now.getTime(), supplyAround(deps, now));
    const [nearest] = supply.nearestAvailable({
      point: pickup,
      radiusMeters: settings.matchRadiusMeters,
      limit: 1,
      nowMs: now.getTime(),
      staleAfterMs: settings.driverStaleAfterMs,
    });
    const pickupEta = async (driverId: string | undefined): Promise<number | null> => {
      const driver = driverId === undefined ? undefined : supply.get(driverId);
      if (!driver) return null;
      const source = { lat: driver.lat, lng: driver.lng };
      const table = await routing.table({
        model: city.road,
        sources: [source],
        destinations: [pickup],
        at: now,
      });
      const seconds = table.seconds(0, 0);
      return seconds === null ? null : Math.round(seconds);
    };
    const quote: Quote = {
      // A random UUID carries 122 bits: unguessable, and useless to anyone but its rider anyway.
      id: randomUUID(),
      riderId,
      city: city.id,
      pickup,
      dropoff,
      ...trip,
      fare: priceTrip(city.tariff, trip, multiplier),
      surge: multiplier,
      pickupEtaSeconds: await pickupEta(nearest?.driverId),
      createdAt: now,
      expiresAt: new Date(now.getTime() + settings.quoteTtlMs),
      usedAt: null,
    };
    await uow.stores.quotes.insert(quote);
    return quote;
  },
});
