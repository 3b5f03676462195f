import { readdir, readFile } from 'node:fs/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allowedStatusChanges,
  finishedStatuses,
  isDriverActive,
  isFinished,
  nextStatus,
  type RideAction,
  type RideStatus,
  rideStatuses,
} from '../../src/domain/ride.js';

/**
 * The lifecycle table of DESIGN.md, written out again here on purpose: the code is checked
 * against the contract, not against itself.
 */
const designTable: ReadonlyArray<{ from: RideStatus; action: RideAction; to: RideStatus }> = [
  { from: 'searching', action: 'accept', to: 'driver_assigned' },
  { from: 'searching', action: 'expire', to: 'expired' },
  { from: 'searching', action: 'rider_cancel', to: 'cancelled' },
  { from: 'driver_assigned', action: 'rider_cancel', to: 'cancelled' },
  { from: 'driver_arrived', action: 'rider_cancel', to: 'cancelled' },
  { from: 'driver_assigned', action: 'driver_cancel', to: 'searching' },
  { from: 'driver_arrived', action: 'driver_cancel', to: 'cancelled' },
  { from: 'driver_assigned', action: 'arrive', to: 'driver_arrived' },
  { from: 'driver_arrived', action: 'start', to: 'in_progress' },
  { from: 'in_progress', action: 'complete', to: 'completed' },
];
const designPairs = new Set(designTable.map(({ from, to }) => `${from}->${to}`));
const designTo = (from: RideStatus, action: RideAction) =>
  designTable.find((row) => row.from === from && row.action === action)?.to;

const actions: readonly RideAction[] = [
  'accept',
  'expire',
  'rider_cancel',
  'driver_cancel',
  'arrive',
  'start',
  'complete',
];
const anyStatus = fc.constantFrom(...rideStatuses);
const anyAction = fc.constantFrom(...actions);
const anyActions = fc.array(anyAction, { maxLength: 40 });

/** Applies actions the way the flows do: a refused action (no next status) changes nothing. */
const run = (from: RideStatus, sequence: readonly RideAction[]) => {
  const visited: RideStatus[] = [from];
  let status = from;
  for (const action of sequence) {
    status = nextStatus(status, action) ?? status;
    visited.push(status);
  }
  return visited;
};

describe('the ride state machine', () => {
  it('When any action is applied to any status, then the result is exactly what the lifecycle table says', () => {
    fc.assert(
      fc.property(anyStatus, anyAction, (from, action) => {
        expect(nextStatus(from, action)).toBe(designTo(from, action));
      }),
    );
  });

  it('When any sequence of actions runs from any status, then every status change it makes is in the lifecycle table', () => {
    fc.assert(
      fc.property(anyStatus, anyActions, (from, sequence) => {
        const visited = run(from, sequence);
        for (let i = 1; i < visited.length; i++) {
          const [before, after] = [visited[i - 1]!, visited[i]!];
          if (before !== after) expect(designPairs).toContain(`${before}->${after}`);
          expect(rideStatuses).toContain(after);
        }
      }),
    );
  });

  it('When a ride is finished, then no sequence of actions ever changes its status', () => {
    fc.assert(
      fc.property(fc.constantFrom(...finishedStatuses), anyActions, (from, sequence) => {
        expect(isFinished(from)).toBe(true);
        expect(new Set(run(from, sequence))).toEqual(new Set([from]));
      }),
    );
  });

  it('When a sequence from a new ride reaches a finished status, then it stays there for the rest of the sequence', () => {
    fc.assert(
      fc.property(anyActions, (sequence) => {
        const visited = run('searching', sequence);
        const firstFinished = visited.findIndex(isFinished);
        if (firstFinished >= 0) {
          expect(new Set(visited.slice(firstFinished))).toEqual(new Set([visited[firstFinished]]));
        }
      }),
    );
  });

  it('When any action is applied to any status, then only a driver cancel from driver_assigned goes back to searching', () => {
    fc.assert(
      fc.property(anyStatus, anyAction, (from, action) => {
        const backToSearching = from !== 'searching' && nextStatus(from, action) === 'searching';
        expect(backToSearching).toBe(from === 'driver_assigned' && action === 'driver_cancel');
      }),
    );
  });

  it('When a sequence runs from any status, then a driver-held status is only ever entered from searching by accept or along the trip', () => {
    fc.assert(
      fc.property(anyStatus, anyActions, (from, sequence) => {
        let status = from;
        for (const action of sequence) {
          const to = nextStatus(status, action);
          if (to && isDriverActive(to) && !isDriverActive(status)) {
            expect([status, action]).toEqual(['searching', 'accept']);
          }
          status = to ?? status;
        }
      }),
    );
  });

  it('When the allowed status changes are listed, then they are exactly the pairs of the lifecycle table', () => {
    const listed = allowedStatusChanges().map(([from, to]) => `${from}->${to}`);
    expect(new Set(listed)).toEqual(designPairs);
  });

  it('When every status is explored from searching, then every status is reachable', () => {
    const reached = new Set<RideStatus>(['searching']);
    const queue: RideStatus[] = ['searching'];
    while (queue.length > 0) {
      const status = queue.shift()!;
      for (const action of actions) {
        const to = nextStatus(status, action);
        if (to && !reached.has(to)) {
          reached.add(to);
          queue.push(to);
        }
      }
    }
    expect(reached).toEqual(new Set(rideStatuses));
  });

  it("When the database migrations are read, then the trigger guarding ride status allows exactly the lifecycle table's changes", async () => {
    const dir = new URL('../../src/adapters/postgres/migrations/', import.meta.url);
    const sql = (
      await Promise.all(
        (
          await readdir(dir)
        )
          .filter((name) => name.endsWith('.sql'))
          .sort()
          .map((name) => readFile(new URL(name, dir), 'utf8')),
      )
    ).join('\n');
    // The latest definition of the guard function wins.
    const bodies = [
      ...sql.matchAll(
        /CREATE (?:OR REPLACE )?FUNCTION rides_guard_transition\(\)[\s\S]*?\$\$([\s\S]*?)\$\$/g,
      ),
    ];
    expect(bodies.length).toBeGreaterThan(0);
    const body = bodies.at(-1)![1]!;
    const pairs = [...body.matchAll(/\('([a-z_]+)',\s*'([a-z_]+)'\)/g)].map(
      ([, from, to]) => `${from}->${to}`,
    );
    expect(new Set(pairs)).toEqual(designPairs);
  });
});
