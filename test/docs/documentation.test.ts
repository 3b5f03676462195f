import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { configVariables } from '../../src/config.js';
import { errorCodes } from '../../src/domain/errors.js';
import { statusOf } from '../../src/http/problem.js';

const read = (path: string) => readFile(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('documentation', () => {
  it('When a configuration variable exists, then the README configuration table lists it', async () => {
    const readme = await read('README.md');
    for (const variable of configVariables) expect(readme).toContain(`| \`${variable}\` |`);
  });

  it('When an error code exists, then docs/api.md lists it with its HTTP status', async () => {
    const api = await read('docs/api.md');
    for (const code of errorCodes) expect(api).toContain(`| \`${code}\` | ${statusOf[code]} |`);
  });

  it('When a newcomer opens the README, then its first command block installs+runs and tests', async () => {
    const readme = await read('README.md');
    const firstBlock = readme.split('```')[1] ?? '';
    expect(firstBlock).toContain('npm ci && npm start');
    expect(firstBlock).toContain('npm test');
  });
});
