import type { EventBus, OfferAnnouncement, RideEventAnnouncement } from './ports.js';

export interface AnnouncementHandlers {
  rideEvent?(announcement: RideEventAnnouncement): void;
  offer?(announcement: OfferAnnouncement): void;
  /** The bus may have lost messages: re-read from the database what matters. */
  resync?(): void;
}

/**
 * Follows the bus by kind of message: how live updates, and a dispatcher in another process,
 * learn of committed ride events and offer changes. Handlers must not block; returns unsubscribe.
 */
export const onAnnouncements = (bus: EventBus, handlers: AnnouncementHandlers): (() => void) =>
  bus.subscribe(
    (message) => {
      if (message.kind === 'ride.event') handlers.rideEvent?.(message.payload);
      else if (message.kind === 'offer') handlers.offer?.(message.payload);
    },
    () => handlers.resync?.(),
  );
