// npm run bench:http (and npm run bench, which runs every benchmark): HTTP throughput of peakride against a bare Fastify server,
// each measured in the same run and reported as ratios (median of several runs).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchBackends, load, median, post, startServer, writeSection } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const DRIVERS = 200;
const cli = new URL('../dist/peakride.js', import.meta.url).pathname;
const anchor = new URL('./bare-fastify.mjs', import.meta.url).pathname;

const paris = { lat: 48.8566, lng: 2.3522 };
const jitter = (i) => ({
  lat: paris.lat + ((i * 37) % 100) / 2000,
  lng: paris.lng + ((i * 53) % 100) / 2000,
});

const measureLoad = async (makeOptions) => {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await load({ duration: DURATION, ...makeOptions() }));
  return {
    requestsPerSecond: median(runs.map((run) => run.requestsPerSecond)),
    p99Ms: median(runs.map((run) => run.p99Ms)),
    failures: runs.reduce((sum, run) => sum + run.non2xx + run.errors, 0),
  };
};

const main = async () => {
  const loadAtStart = loadavg()[0].toFixed(2);
  const dataDir = await mkdtemp(join(tmpdir(), 'peakride-bench-'));
  const rows = [];
  try {
    const bare = await startServer([anchor]);
    const anchorLoad = await measureLoad(() => ({
      url: `${bare.url}/echo`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ lat: paris.lat, lng: paris.lng }),
    }));
    await bare.stop();
    rows.push({
      what: 'bare Fastify (anchor)',
      anchorLoad,
      load: anchorLoad,
    });

    for (const backend of await benchBackends()) {
      // Throughput of the request paths themselves: shedding would answer the saturated quotes with
      // cheap 503s (bench/overload.mjs measures shedding).
      const env = {
        PEAKRIDE_DATA_DIR: dataDir,
        PEAKRIDE_SHED_EVENT_LOOP_DELAY_MS: '0',
        PEAKRIDE_SHED_EVENT_LOOP_UTILIZATION: '0',
        ...backend.env,
      };
      const server = await startServer([cli, 'serve'], env);
      const token = async (role, subject) =>
        (await post(server.url, '/v1/dev/tokens', { role, subject })).token;
      const riderToken = await token('rider', `bench-rider-${randomUUID().slice(0, 8)}`);
      const drivers = [];
      for (let i = 0; i < DRIVERS; i++) {
        const driverToken = await token('driver', `bench-driver-${randomUUID().slice(0, 8)}`);
        await post(server.url, '/v1/drivers/me/online', jitter(i), {
          authorization: `Bearer ${driverToken}`,
        });
        drivers.push(driverToken);
      }
      const quotes = await measureLoad(() => ({
        url: `${server.url}/v1/quotes`,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${riderToken}` },
        body: JSON.stringify({ pickup: jitter(7), dropoff: jitter(61) }),
      }));
      let next = 0;
      const locations = await measureLoad(() => ({
        url: server.url,
        requests: [
          {
            method: 'POST',
            path: '/v1/drivers/me/location',
            setupRequest: (request) => {
              const i = next++ % DRIVERS;
              return {
                ...request,
                headers: { 'content-type': 'application/json', authorization: `Bearer ${drivers[i]}` },
                body: JSON.stringify({ ...jitter(i + next), heading: 90 }),
              };
            },
          },
        ],
      }));
      await server.stop();
      await backend.cleanup?.();
      rows.push({ what: `POST /v1/quotes, ${backend.name}`, anchorLoad, load: quotes });
      rows.push({
        what: `POST /v1/drivers/me/location, ${backend.name}`,
        anchorLoad,
        load: locations,
      });
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
  await writeReport(rows, loadAtStart);
};

const ratio = (value, anchor) => (value / anchor).toFixed(2);

const writeReport = async (rows, loadAtStart) => {
  const when = new Date().toISOString().slice(0, 10);
  const table = rows
    .map(
      (row) =>
        `| ${row.what} | ${ratio(row.load.requestsPerSecond, row.anchorLoad.requestsPerSecond)} | ${Math.round(row.load.requestsPerSecond)} | ${ratio(row.load.p99Ms, row.anchorLoad.p99Ms)} | ${row.load.p99Ms} | ${row.load.failures} |`,
    )
    .join('\n');
  const http = `Measured by \`npm run bench:http\` (\`bench/http.mjs\`; \`npm run bench\` runs every benchmark) on ${when}: one server process and the load
generator (autocannon, 32 connections, ${DURATION} s per run) on the same 2-core machine (1-minute load
average ${loadAtStart} at the start); median of ${RUNS} runs.
The anchor is a bare Fastify server answering a JSON POST with no work, measured in the same run. Location
updates come from ${DRIVERS} online drivers in turn; each quote is priced and stored.

\`\`\`sh
npm run build && DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:http
\`\`\`

| route | req/s vs anchor | req/s | p99 vs anchor | p99 ms | non-2xx + errors |
|---|---|---|---|---|---|
${table}
`;
  await writeSection('HTTP throughput, one process', http);
  process.stdout.write(http);
};

await main();
