/**
 * The architecture, checked by `npm run check`: arrows point inward.
 * domain <- dispatch <- flows <- adapters, http <- roles <- cli
 */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'The domain knows nothing of storage, HTTP, dispatch loops or process wiring.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: '^src/(dispatch|flows|adapters|http|ops|roles|config|cli)' },
    },
    {
      name: 'domain-has-no-io',
      comment: 'No I/O libraries in the domain or the dispatch engine; h3-js is pure geometry.',
      severity: 'error',
      from: { path: '^src/(domain|dispatch)/' },
      to: { dependencyTypes: ['npm', 'core'], pathNot: '^node_modules/h3-js/' },
    },
    {
      name: 'dispatch-depends-on-domain-only',
      severity: 'error',
      from: { path: '^src/dispatch/' },
      to: { path: '^src/(flows|adapters|http|ops|roles|config|cli)' },
    },
    {
      name: 'flows-use-ports-not-adapters',
      comment: 'Use cases see ports; adapters are wired in roles/.',
      severity: 'error',
      from: { path: '^src/flows/' },
      to: { path: '^src/(adapters|http|ops|roles|cli)' },
    },
    {
      name: 'adapters-do-not-know-http',
      severity: 'error',
      from: { path: '^src/adapters/' },
      to: { path: '^src/(http|roles|cli)' },
    },
    {
      name: 'http-does-not-wire',
      comment: 'The HTTP layer receives its dependencies; only roles/ builds them.',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/(roles|cli)|^src/adapters/postgres' },
    },
    {
      name: 'simulator-uses-the-public-api',
      comment:
        'The city simulator is a client: it drives the platform through HTTP and the WebSocket only. It may read the message schemas, the pure domain (cities, geometry), the SLO file loader and the open-file limit, nothing that runs the platform.',
      severity: 'error',
      from: { path: '^src/sim/' },
      to: {
        path: '^src/(adapters|flows|dispatch|roles|http|ops)/',
        pathNot: '^src/http/schemas\\.ts$|^src/ops/slo/objectives\\.ts$|^src/ops/open-files\\.ts$',
      },
    },
    {
      name: 'capacity-model-runs-nothing',
      comment:
        'peakride capacity is a model: it reads scenarios, traces, the SLO file and measured pod capacity, and replays them; it starts no part of the platform and sends no request.',
      severity: 'error',
      from: { path: '^src/capacity/' },
      to: {
        path: '^src/(adapters|flows|dispatch|roles|http|ops)/|^src/sim/(api-client|run|embedded|agents)',
        pathNot: '^src/ops/slo/objectives\\.ts$',
      },
    },
    {
      name: 'tracing-sdk-on-demand',
      comment:
        'Spans go through @opentelemetry/api (a no-op until configured); only ops/tracing.ts loads the SDK, with import() when an endpoint is set, so a process that does not trace never parses it.',
      severity: 'error',
      from: { pathNot: '^src/ops/tracing\\.ts$' },
      to: { path: '^node_modules/@opentelemetry/(?!api/)' },
    },
    {
      name: 'tracing-sdk-never-imported-statically',
      severity: 'error',
      from: {},
      to: { path: '^node_modules/@opentelemetry/(?!api/)', dynamic: false },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
