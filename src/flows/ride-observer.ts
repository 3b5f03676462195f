import type { Ride } from '../domain/ride.js';

/** How an offer ended for the driver it went to (a withdrawn offer is the ride's end, not an answer). */
export type OfferOutcome = 'accepted' | 'declined' | 'timed_out';

/** Who ended a ride as `cancelled`; `system` is for the platform's own cancellations. */
export type CancelledBy = 'rider' | 'driver' | 'system';

/**
 * Where the flows report what happened to rides and offers (metrics); they do not care who
 * listens. Each event is reported once per deployment, by the flow that committed it and only
 * after the commit: bookings, answers, cancels and the lifecycle by the API process, expiries and
 * offer timeouts by the worker. Summing over processes therefore counts each event once.
 */
export interface RideObserver {
  /** A booking created the ride (a replayed booking is not a new request). */
  rideRequested(ride: Ride): void;
  /**
   * A driver accepted the ride. `waitedSeconds` runs from the moment the ride began searching —
   * its request, or its driver dropping it — to the accept's commit.
   */
  rideMatched(ride: Ride, waitedSeconds: number): void;
  /** Its search window passed with no taker. */
  rideExpired(ride: Ride): void;
  /** It ended `cancelled`. A driver sending an assigned ride back to searching is not a cancel. */
  rideCancelled(ride: Ride, by: CancelledBy): void;
  rideCompleted(ride: Ride): void;
  /** A driver answered an offer, let it lapse, or went offline holding it (a decline). */
  offerAnswered(outcome: OfferOutcome): void;
}

export const unobservedRides: RideObserver = {
  rideRequested() {},
  rideMatched() {},
  rideExpired() {},
  rideCancelled() {},
  rideCompleted() {},
  offerAnswered() {},
};
