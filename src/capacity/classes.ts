/**
 * The request classes of the autoscaling model: what riders and drivers send (demand.ts), what an
 * api pod spends on each (pod-capacity.ts) and which routes they are, so the SLO file's selectors
 * can be matched to them (slo.ts).
 */

export const capacityClasses = [
  'quote',
  'booking',
  'read',
  'realtime',
  'location',
  'online',
  'offerPoll',
  'offerAnswer',
  'lifecycle',
  'cancel',
] as const;
export type CapacityClass = (typeof capacityClasses)[number];

/** The classes `npm run bench:capacity` measures; every other class is costed as one of them. */
export const measuredClasses = ['quote', 'booking', 'location', 'read'] as const;
export type MeasuredClass = (typeof measuredClasses)[number];

export interface ClassInfo {
  /** Refused first under load (docs/load-shedding.md); every other class is never shed. */
  sheddable: boolean;
  /** The measured class whose cost and latency this class is given. */
  costedAs: MeasuredClass;
  /** The routes of the class, as the platform's metrics label them. */
  routes: ReadonlyArray<{ method: string; route: string }>;
}

/**
 * Why each unmeasured class is costed as it is: a ride read and an offer poll are one indexed
 * query, like a ride read; the WebSocket upgrade authenticates and subscribes, no more than a
 * read. Going online, answering an offer, a lifecycle step and a cancel are each one guarded
 * transaction on a ride or a driver plus an announcement, like a booking: an upper estimate.
 */
export const classInfo: Record<CapacityClass, ClassInfo> = {
  quote: { sheddable: true, costedAs: 'quote', routes: [{ method: 'POST', route: '/v1/quotes' }] },
  booking: { sheddable: false, costedAs: 'booking', routes: [{ method: 'POST', route: '/v1/rides' }] },
  read: { sheddable: true, costedAs: 'read', routes: [{ method: 'GET', route: '/v1/rides/:id' }] },
  realtime: { sheddable: false, costedAs: 'read', routes: [{ method: 'GET', route: '/v1/realtime' }] },
  location: {
    sheddable: false,
    costedAs: 'location',
    routes: [{ method: 'POST', route: '/v1/drivers/me/location' }],
  },
  online: {
    sheddable: false,
    costedAs: 'booking',
    routes: [
      { method: 'POST', route: '/v1/drivers/me/online' },
      { method: 'POST', route: '/v1/drivers/me/offline' },
    ],
  },
  offerPoll: {
    sheddable: false,
    costedAs: 'read',
    routes: [{ method: 'GET', route: '/v1/drivers/me/offers' }],
  },
  offerAnswer: {
    sheddable: false,
    costedAs: 'booking',
    routes: [
      { method: 'POST', route: '/v1/offers/:id/accept' },
      { method: 'POST', route: '/v1/offers/:id/decline' },
    ],
  },
  lifecycle: {
    sheddable: false,
    costedAs: 'booking',
    routes: [
      { method: 'POST', route: '/v1/rides/:id/arrive' },
      { method: 'POST', route: '/v1/rides/:id/start' },
      { method: 'POST', route: '/v1/rides/:id/complete' },
    ],
  },
  cancel: {
    sheddable: false,
    costedAs: 'booking',
    routes: [{ method: 'POST', route: '/v1/rides/:id/cancel' }],
  },
};

/** Requests per second of each class. */
export type ClassRates = Record<CapacityClass, number>;

/**
 * The replay keeps per-class numbers in typed arrays indexed in `capacityClasses` order (a
 * second of a day-long replay, a hundred replays for the search: object keys were the cost).
 */
export const CLASS_COUNT = capacityClasses.length;
export const classIndex = Object.fromEntries(capacityClasses.map((kind, index) => [kind, index])) as Record<
  CapacityClass,
  number
>;
export const sheddableIndexes = capacityClasses.flatMap((kind, index) =>
  classInfo[kind].sheddable ? [index] : [],
);
export const criticalIndexes = capacityClasses.flatMap((kind, index) =>
  classInfo[kind].sheddable ? [] : [index],
);

export const zeroRates = (): ClassRates => ({
  quote: 0,
  booking: 0,
  read: 0,
  realtime: 0,
  location: 0,
  online: 0,
  offerPoll: 0,
  offerAnswer: 0,
  lifecycle: 0,
  cancel: 0,
});

/** The per-class array as a record, scaled by `factor`. */
export const ratesOf = (values: ArrayLike<number>, factor = 1): ClassRates => {
  const rates = zeroRates();
  capacityClasses.forEach((kind, index) => {
    rates[kind] = values[index]! * factor;
  });
  return rates;
};
