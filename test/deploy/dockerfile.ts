/**
 * The Dockerfile read, not built (no container engine is needed to run the tests): its
 * instructions, and the properties the image must have for Kubernetes to run it as
 * deploy/kubernetes says.
 */

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}
export interface Stage {
  base: string;
  name?: string;
  instructions: Instruction[];
}

/** Instructions by stage: continuation lines joined, comments dropped, ARG defaults substituted in FROM. */
export const parseDockerfile = (text: string) => {
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  let pending = '';
  let start = 0;
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = raw.trimEnd();
    if (pending === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) return;
    if (pending !== '' && line.trimStart().startsWith('#')) return;
    if (pending === '') start = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const [keyword = '', ...rest] = full.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), args: rest.join(' '), line: start };
    if (instruction.keyword === 'FROM') {
      const [image = '', as, name] = rest;
      const base = image.replace(/\$\{?(\w+)\}?/g, (_, variable: string) => args.get(variable) ?? '');
      stages.push({ base, ...(as?.toUpperCase() === 'AS' && name ? { name } : {}), instructions: [] });
      return;
    }
    if (instruction.keyword === 'ARG' && stages.length === 0) {
      const [name = '', value = ''] = instruction.args.split('=');
      args.set(name, value);
      return;
    }
    stages.at(-1)?.instructions.push(instruction);
  });
  return stages;
};

const execForm = (args: string): string[] | undefined => {
  try {
    const parsed = JSON.parse(args) as unknown;
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
};

/** ENV of a stage, both `ENV A=1 B=2` and the legacy `ENV A 1`. */
export const envOf = (stage: Stage) => {
  const env = new Map<string, string>();
  for (const { keyword, args } of stage.instructions) {
    if (keyword !== 'ENV') continue;
    if (!args.includes('=')) {
      const [name = '', ...value] = args.split(/\s+/);
      env.set(name, value.join(' '));
      continue;
    }
    for (const pair of args.split(/\s+/)) {
      const [name = '', ...value] = pair.split('=');
      env.set(name, value.join('=').replace(/^"(.*)"$/, '$1'));
    }
  }
  return env;
};

/** The numeric user:group of the stage's last USER, or undefined. */
export const userOf = (stage: Stage) => {
  const user = stage.instructions.filter(({ keyword }) => keyword === 'USER').at(-1)?.args;
  const match = user ? /^(\d+)(?::(\d+))?$/.exec(user) : null;
  return match
    ? { uid: Number(match[1]), gid: match[2] === undefined ? undefined : Number(match[2]) }
    : undefined;
};

/** Does `.dockerignore` (last matching pattern wins, `!` re-includes) leave `path` in the context? */
export const inContext = (dockerignore: string, path: string) => {
  const patterns = dockerignore
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const prefixes = path.split('/').map((_, index, parts) => parts.slice(0, index + 1).join('/'));
  let included = true;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const glob = (negated ? pattern.slice(1) : pattern).replace(/^\/+|\/+$/g, '');
    const regex = new RegExp(
      `^${glob
        .split('**')
        .map((part) =>
          part
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '[^/]*')
            .replace(/\?/g, '[^/]'),
        )
        .join('.*')}$`,
    );
    if (prefixes.some((prefix) => regex.test(prefix))) included = negated;
  }
  return included;
};

/**
 * What the image must be: multi-stage, bases pinned to a version, a runtime with production
 * dependencies only and no install scripts, a numeric non-root user, node itself as the
 * exec-form entrypoint so SIGTERM reaches peakride, and a Debian base so the preStop hook's
 * `sleep` exists. `exists` answers for COPY sources, relative to the repository.
 */
export const dockerfileProblems = (text: string, dockerignore: string, exists: (path: string) => boolean) => {
  const problems: string[] = [];
  const stages = parseDockerfile(text);
  const final = stages.at(-1);
  if (stages.length < 2 || !final) return ['multi-stage: needs a build stage and a runtime stage'];
  for (const { base } of stages) {
    const tagged = /^[^@]+:([^:@/]+)(@sha256:[0-9a-f]{64})?$/.exec(base);
    if (!tagged || tagged[1] === 'latest' || !/\d/.test(tagged[1] ?? ''))
      problems.push(`pinned: the base image ${base || '(empty)'} is not pinned to a version tag`);
  }
  if (!/^node:20(\.\d+){0,2}-bookworm-slim(@|$)/.test(final.base))
    problems.push(
      `runtime base: ${final.base} is not node 20 on Debian bookworm-slim (the preStop hook needs sleep)`,
    );

  const runs = stages.flatMap((stage) => stage.instructions.filter(({ keyword }) => keyword === 'RUN'));
  for (const run of runs)
    if (/\bnpm (ci|install|i)\b/.test(run.args) && !run.args.includes('--ignore-scripts'))
      problems.push(
        `install scripts: line ${run.line}: npm must install with --ignore-scripts (prepare runs the build)`,
      );
  const finalRuns = final.instructions.filter(({ keyword }) => keyword === 'RUN');
  if (!finalRuns.some(({ args }) => /\bnpm ci\b/.test(args) && args.includes('--omit=dev')))
    problems.push('production dependencies: the runtime stage must `npm ci --omit=dev`');
  if (finalRuns.some(({ args }) => /\bnpm (install|i)\b/.test(args)))
    problems.push(
      'production dependencies: the runtime stage must use npm ci (the lockfile), not npm install',
    );
  const build = stages.slice(0, -1);
  if (
    !build.some((stage) =>
      stage.instructions.some(({ keyword, args }) => keyword === 'RUN' && args.includes('npm run build')),
    )
  )
    problems.push('build stage: no stage runs `npm run build`');
  const copiesBuild = final.instructions.some(
    ({ keyword, args }) =>
      keyword === 'COPY' &&
      build.some((stage) => stage.name && args.split(/\s+/).includes(`--from=${stage.name}`)),
  );
  if (!copiesBuild) problems.push('build stage: the runtime stage copies nothing from the build stage');

  const user = userOf(final);
  if (!user) problems.push('user: the runtime stage needs a numeric USER (uid or uid:gid)');
  else if (user.uid === 0 || user.gid === 0) problems.push('user: the runtime USER is root');

  const entrypoint = final.instructions.filter(({ keyword }) => keyword === 'ENTRYPOINT').at(-1);
  const entry = entrypoint && execForm(entrypoint.args);
  if (!entry) problems.push('entrypoint: needs an exec-form ENTRYPOINT (a JSON array), so node is PID 1');
  else if (entry[0] !== 'node' || entry[1] !== 'dist/peakride.js')
    problems.push(`entrypoint: must start node dist/peakride.js directly, not ${entry.join(' ')}`);
  const cmd = final.instructions.filter(({ keyword }) => keyword === 'CMD').at(-1);
  if (JSON.stringify(cmd && execForm(cmd.args)) !== JSON.stringify(['serve', '--role', 'all']))
    problems.push('cmd: the default command must be ["serve", "--role", "all"]');

  const env = envOf(final);
  if (env.get('HOST') !== '0.0.0.0') problems.push('env: HOST must be 0.0.0.0 in a container');
  if (!env.get('PEAKRIDE_DATA_DIR')?.startsWith('/tmp/'))
    problems.push('env: PEAKRIDE_DATA_DIR must be under /tmp, the only writable path');

  for (const stage of stages)
    for (const { keyword, args, line } of stage.instructions) {
      if (keyword === 'ADD') problems.push(`copy: line ${line}: use COPY, not ADD`);
      if (keyword !== 'COPY' || args.includes('--from=')) continue;
      const sources = args
        .split(/\s+/)
        .filter((arg) => !arg.startsWith('--'))
        .slice(0, -1);
      for (const source of sources) {
        const path = source.replace(/^\.\//, '').replace(/\/$/, '');
        if (!exists(path)) problems.push(`copy: line ${line}: ${source} does not exist`);
        else if (!inContext(dockerignore, path))
          problems.push(`copy: line ${line}: .dockerignore leaves out ${source}`);
      }
    }
  return problems;
};
