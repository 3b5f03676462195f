import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerfileProblems, envOf, inContext, parseDockerfile, userOf } from './dockerfile.js';
import { envFile, kubernetesDir, readDocuments, root } from './kustomize.js';

/**
 * The image is not built here (no container engine on a developer's machine or in CI is
 * assumed): the Dockerfile is read, and what Kubernetes relies on is checked, together with
 * its agreement with deploy/kubernetes (port, user, writable path).
 */

const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const dockerignore = readFileSync(join(root, '.dockerignore'), 'utf8');
const exists = (path: string) => existsSync(join(root, path));
const problems = (text: string, ignore = dockerignore) => dockerfileProblems(text, ignore, exists).join('\n');
const runtime = parseDockerfile(dockerfile).at(-1)!;

describe('the Dockerfile', () => {
  it('When read, then it builds in one stage and runs the bundle in a pinned, slim, non-root runtime stage', () => {
    expect(dockerfileProblems(dockerfile, dockerignore, exists)).toEqual([]);
    const stages = parseDockerfile(dockerfile);
    expect(stages.map(({ name }) => name)).toEqual(['build', 'runtime']);
    expect(runtime.base).toMatch(/^node:20\.\d+\.\d+-bookworm-slim$/);
  });

  it('When compared with the Kubernetes manifests, then the port, the user and the writable path agree', () => {
    const env = envOf(runtime);
    const config = envFile(readFileSync(join(kubernetesDir, 'base/config.env'), 'utf8')).entries;
    expect(env.get('PORT')).toBe(config.get('PORT'));
    const expose = runtime.instructions.find(({ keyword }) => keyword === 'EXPOSE')?.args;
    expect(expose).toBe(config.get('PORT'));
    const [api] = readDocuments(join(kubernetesDir, 'base/api.yaml')).values as {
      spec: { template: { spec: { securityContext: { runAsUser: number; runAsGroup: number } } } };
    }[];
    const { runAsUser, runAsGroup } = api!.spec.template.spec.securityContext;
    expect(userOf(runtime)).toEqual({ uid: runAsUser, gid: runAsGroup });
    expect(env.get('PEAKRIDE_DATA_DIR')?.startsWith('/tmp/')).toBe(true);
  });

  it('When the build context is filtered by .dockerignore, then the sources go in and local artefacts stay out', () => {
    for (const path of ['src/cli.ts', 'package-lock.json', 'scripts/bundle.mjs', 'slo/objectives.yaml'])
      expect(inContext(dockerignore, path), path).toBe(true);
    for (const path of [
      'node_modules/fastify/package.json',
      'dist/peakride.js',
      '.git/HEAD',
      '.peakride/PG_VERSION',
      'test/cli.test.ts',
    ])
      expect(inContext(dockerignore, path), path).toBe(false);
  });
});

describe('the Dockerfile check, given broken Dockerfiles', () => {
  const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM ') + 1);
  it.each<[string, string, string]>([
    ['one stage only', `ARG NODE_IMAGE=node:20.20.2-bookworm-slim\n${runtimeStage}`, 'multi-stage'],
    [
      'a floating base image',
      dockerfile.replace('ARG NODE_IMAGE=node:20.20.2-bookworm-slim', 'ARG NODE_IMAGE=node:latest'),
      'is not pinned to a version tag',
    ],
    [
      'an Alpine runtime',
      dockerfile.replace('ARG NODE_IMAGE=node:20.20.2-bookworm-slim', 'ARG NODE_IMAGE=node:20.20.2-alpine'),
      'is not node 20 on Debian bookworm-slim',
    ],
    [
      'dev dependencies in the runtime',
      dockerfile.replace(' --omit=dev', ''),
      'the runtime stage must `npm ci --omit=dev`',
    ],
    [
      'install scripts run',
      dockerfile.replace('npm ci --omit=dev --ignore-scripts', 'npm ci --omit=dev'),
      'must install with --ignore-scripts',
    ],
    ['a named user', dockerfile.replace('USER 10001:10001', 'USER peakride'), 'needs a numeric USER'],
    ['root', dockerfile.replace('USER 10001:10001', 'USER 0'), 'the runtime USER is root'],
    ['no user at all', dockerfile.replace('USER 10001:10001\n', ''), 'needs a numeric USER'],
    [
      'a shell-form entrypoint',
      dockerfile.replace('ENTRYPOINT ["node", "dist/peakride.js"]', 'ENTRYPOINT node dist/peakride.js'),
      'exec-form ENTRYPOINT',
    ],
    [
      'npm in front of node',
      dockerfile.replace('ENTRYPOINT ["node", "dist/peakride.js"]', 'ENTRYPOINT ["npm", "start"]'),
      'must start node dist/peakride.js directly',
    ],
    [
      'another default command',
      dockerfile.replace('CMD ["serve", "--role", "all"]', 'CMD ["serve"]'),
      'the default command',
    ],
    [
      'a data directory on the read-only root',
      dockerfile.replace('PEAKRIDE_DATA_DIR=/tmp/peakride', 'PEAKRIDE_DATA_DIR=/app/.peakride'),
      'must be under /tmp',
    ],
    ['a loopback HOST', dockerfile.replace('HOST=0.0.0.0', 'HOST=127.0.0.1'), 'HOST must be 0.0.0.0'],
    [
      'a copy of a missing file',
      dockerfile.replace('COPY slo ./slo', 'COPY config ./config'),
      'config does not exist',
    ],
    [
      'nothing taken from the build stage',
      dockerfile.replaceAll('--from=build', '--from=builder'),
      'copies nothing from the build stage',
    ],
  ])('When it has %s, then the check says so', (_, text, message) => {
    expect(problems(text)).toContain(message);
  });

  it('When .dockerignore leaves out what the Dockerfile copies, then the check says so', () => {
    expect(problems(dockerfile, `${dockerignore}\nsrc/\n`)).toContain('.dockerignore leaves out src');
  });
});
