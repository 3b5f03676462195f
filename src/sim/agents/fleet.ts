import { forEachConcurrently } from '../concurrently.js';
import { curveAt } from '../scenario.js';
import { createDriver, type Driver } from './driver.js';
import { near, type World } from './world.js';

/** How often (simulated seconds) the fleet is brought to the scenario's online curve... */
const STEER_EVERY_SIM_SECONDS = 5;
/** ...and at least how long apart in wall time, whatever the speed. */
const MIN_STEER_WALL_SECONDS = 0.5;
/** Share of drivers who start near a hotspot rather than anywhere in the area. */
const AT_HOTSPOTS = 0.6;

/**
 * The scenario's drivers: `count × scale` of them, of whom the share the `online` curve gives is
 * online at each moment. Going online is spread over the steering interval, going offline waits
 * until a driver is free, as a real driver ends a shift.
 */
export const createFleet = (world: World, runTag: string, scale: number) => {
  const { scenario, scheduler } = world;
  const random = world.random.fork('fleet');
  const { area, hotspots } = scenario.demand;
  const size = Math.max(1, Math.round(scenario.drivers.count * scale));
  const drivers: Driver[] = [];
  for (let i = 0; i < size; i++) {
    const home =
      hotspots.length > 0 && random.uniform() < AT_HOTSPOTS
        ? near(
            world,
            random.weighted(hotspots, (spot) => spot.weight),
            2000,
          )
        : { lat: random.between(area.south, area.north), lng: random.between(area.west, area.east) };
    drivers.push(createDriver(world, `${runTag}-driver-${i}`, home));
  }

  const interval = Math.max(STEER_EVERY_SIM_SECONDS / scheduler.speed, MIN_STEER_WALL_SECONDS);
  const steer = () => {
    if (world.stopping) return;
    const target = Math.round(
      size * Math.min(1, Math.max(0, curveAt(scenario.drivers.online, scheduler.now()))),
    );
    const online = drivers.filter((driver) => driver.isOnline()).length;
    if (online < target) {
      const joining = drivers.filter((driver) => !driver.isOnline()).slice(0, target - online);
      for (const driver of joining) {
        scheduler.afterWall(random.uniform() * interval, (due) => void driver.goOnline(due));
      }
    } else if (online > target) {
      const leaving = drivers.filter((driver) => driver.isFree()).slice(0, online - target);
      for (const driver of leaving) void driver.goOffline(performance.now());
    }
    scheduler.afterWall(interval, steer);
  };

  /** The drivers online at the scenario's start are online before its clock runs: a city is never empty. */
  const warmUp = async (concurrency = 32) => {
    const target = Math.round(size * Math.min(1, Math.max(0, curveAt(scenario.drivers.online, 0))));
    await forEachConcurrently(drivers.slice(0, target), concurrency, (driver) =>
      driver.goOnline(performance.now()),
    );
  };

  return {
    size,
    drivers,
    warmUp,
    start: steer,
  };
};
