import type { Driver } from './agents/driver.js';
import type { BookedRide } from './agents/world.js';
import type { ApiClient, Offer, Ride, RideEvent } from './api-client.js';
import { forEachConcurrently } from './concurrently.js';
import type { Invariants } from './types.js';

/** The platform's housekeeping runs every few seconds: a deadline is late only past this. */
const GRACE_MS = 15_000;
/** Audit reads in flight at once: enough to be quick, few enough not to be a peak of their own. */
const CONCURRENCY = 16;
/** A read shed or failed is tried again, this often and this many times. */
const READ_ATTEMPTS = 20;
const READ_RETRY_MS = 500;

/**
 * The end-of-run audit (DESIGN.md invariants 1–3), through the public API:
 * - every booking that got a 2xx can still be read by its rider;
 * - no driver held two active rides at once, as the rides' own event histories show;
 * - no ride is left searching past its deadline, and no offer pending past its expiry.
 */
export const audit = async (
  /** A client of its own: the audit's reads are not part of the scenario's measured load. */
  api: ApiClient,
  rides: readonly BookedRide[],
  drivers: readonly Driver[],
  opsToken: string,
): Promise<Invariants> => {
  const read = async <Body>(path: string, token: string): Promise<{ status: number; body?: Body }> => {
    for (let attempt = 1; ; attempt++) {
      const answer = await api.call<Body>('read', 'GET', path, { token, scheduledMs: performance.now() });
      if ((answer.status > 0 && answer.status < 500) || attempt >= READ_ATTEMPTS) return answer;
      await new Promise((resolve) => setTimeout(resolve, READ_RETRY_MS));
    }
  };

  const invariants: Invariants = { lostBookings: [], doubleAssignments: [], stuckRides: [] };
  const assignments = new Map<string, Array<{ rideId: string; from: number; to: number }>>();

  await forEachConcurrently(rides, CONCURRENCY, async (booked) => {
    const { status, body: ride } = await read<Ride>(`/v1/rides/${booked.id}`, booked.riderToken);
    if (status === 404) invariants.lostBookings.push(booked.id);
    if (status !== 200 || !ride) return;
    if (ride.status === 'searching' && Date.parse(ride.searchDeadline) + GRACE_MS < Date.now()) {
      invariants.stuckRides.push({
        rideId: ride.id,
        status: ride.status,
        reason: `searching past its deadline ${ride.searchDeadline}`,
      });
    }
    if (!booked.matched && !ride.driverId) return;
    const history = await read<RideEvent[]>(`/v1/rides/${booked.id}/events`, opsToken);
    for (const held of assignmentsOf(ride.id, history.body ?? [])) {
      const list = assignments.get(held.driverId) ?? [];
      list.push(held);
      assignments.set(held.driverId, list);
    }
  });

  for (const [driverId, held] of assignments) {
    held.sort((a, b) => a.from - b.from);
    for (let i = 1; i < held.length; i++) {
      const before = held[i - 1]!;
      const after = held[i]!;
      if (after.from < before.to) {
        invariants.doubleAssignments.push({ driverId, rideIds: [before.rideId, after.rideId] });
      }
    }
  }

  await forEachConcurrently(drivers, CONCURRENCY, async (driver) => {
    const token = driver.token();
    if (!token) return;
    const { status, body: offers } = await read<Offer[]>('/v1/drivers/me/offers', token);
    if (status !== 200 || !offers) return;
    for (const offer of offers) {
      if (Date.parse(offer.expiresAt) + GRACE_MS < Date.now()) {
        invariants.stuckRides.push({
          rideId: offer.rideId,
          status: 'offered',
          reason: `offer ${offer.id} pending past its expiry ${offer.expiresAt}`,
        });
      }
    }
  });
  return invariants;
};

/** The spans during which each driver held the ride, from its event history. */
const assignmentsOf = (rideId: string, events: readonly RideEvent[]) => {
  const spans: Array<{ rideId: string; driverId: string; from: number; to: number }> = [];
  let open: { driverId: string; from: number } | undefined;
  for (const event of events) {
    const at = Date.parse(event.at);
    if (event.status === 'driver_assigned' && event.actor.role === 'driver' && event.actor.id) {
      open = { driverId: event.actor.id, from: at };
    } else if (open && ['searching', 'cancelled', 'completed', 'expired'].includes(event.status)) {
      spans.push({ rideId, ...open, to: at });
      open = undefined;
    }
  }
  if (open) spans.push({ rideId, ...open, to: Number.POSITIVE_INFINITY });
  return spans;
};
