import { AsyncLocalStorage } from 'node:async_hooks';
import type { Priority } from './load-shedding.js';

const current = new AsyncLocalStorage<Priority>();

/** Runs `work` as work of a load-shedding class, which the database lanes read to order waiters. */
export const runAs = <T>(priority: Priority, work: () => T): T => current.run(priority, work);

/**
 * The class of the work now running. Work outside any request — dispatch passes, timers, the
 * outbox relay — is what keeps rides moving, so it counts as critical.
 */
export const currentPriority = (): Priority => current.getStore() ?? 'critical';
