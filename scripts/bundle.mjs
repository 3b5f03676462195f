// Part of `npm run build`: bundles the CLI and everything it imports into dist/peakride.js (the
// `peakride` bin). Start-up time is a product goal and Node 20 spends most of a cold start
// resolving and loading ES modules one file at a time (TypeBox alone is 700 files): one bundle
// makes `peakride serve` ready in well under half the time. tsc still type-checks and emits
// dist/ module by module (benchmarks import single modules from there).
import { cp } from 'node:fs/promises';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url);

await build({
  absWorkingDir: root.pathname,
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/peakride.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  external: [
    // Loads its WebAssembly and data files from beside its own modules.
    '@electric-sql/pglite',
    // pg's optional native binding, never installed.
    'pg-native',
    // The tracing SDK: loaded only when tracing is configured, so it stays off the start path;
    // and the API, so the SDK and our spans share one copy of it whatever the versions.
    '@opentelemetry/api',
    '@opentelemetry/sdk-trace-node',
    '@opentelemetry/sdk-trace-base',
    '@opentelemetry/exporter-trace-otlp-http',
    '@opentelemetry/resources',
  ],
  // CommonJS dependencies inside an ES module bundle still call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __peakrideCreateRequire } from 'node:module'; const require = __peakrideCreateRequire(import.meta.url);",
  },
});
// The bundle finds the migrations beside itself (src/adapters/postgres/migrate.ts).
await cp(new URL('src/adapters/postgres/migrations', root), new URL('dist/migrations', root), {
  recursive: true,
});
