import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultMaxConnections, openFileLimit, RESERVED_FILES } from '../../src/ops/open-files.js';
import { pgliteBackend } from '../support/backends.js';
import { startTestPlatform, type TestPlatform } from '../support/platform.js';
import { connectLive, type LiveClient, realtimeUrl } from '../support/realtime.js';

/**
 * A process holds at most PEAKRIDE_MAX_CONNECTIONS client connections: one more is closed on
 * arrival instead of taking a file descriptor the process needs (an EMFILE would end it).
 */
const CAP = 3;

describe('Given a platform that holds at most 3 client connections', () => {
  let t: TestPlatform;
  let url: string;
  let base: string;
  const held: LiveClient[] = [];
  // A connection of its own, closed after the answer: a kept-alive one would hold a place.
  const health = () => request(`${base}/healthz`, { reset: true });

  beforeAll(async () => {
    t = await startTestPlatform(pgliteBackend, { PEAKRIDE_MAX_CONNECTIONS: String(CAP) });
    url = await realtimeUrl(t);
    base = url.replace(/^ws/, 'http').replace(/\/v1\/realtime$/, '');
  });
  afterAll(async () => {
    await Promise.all(held.map((client) => client.close()));
    await t?.close();
  });

  it('When three WebSockets are open, then a fourth connection is closed at once, the process lives on, and a freed place is taken again', async () => {
    for (let i = 0; i < CAP; i++) held.push(await connectLive(url, { token: await t.token('driver') }));
    const token = await t.token('driver');
    await expect(connectLive(url, { token })).rejects.toThrow();
    await expect(health()).rejects.toThrow();

    await held.pop()?.close();
    // The server counts the closed connection out once its close reaches it.
    await expect
      .poll(async () => (await health().catch(() => undefined))?.statusCode, {
        timeout: 5000,
      })
      .toBe(200);
    const again = await connectLive(url, { token });
    held.push(again);
    expect(again.messages[0]).toMatchObject({ type: 'hello' });
  });
});

describe('the default cap', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'peakride-limits-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const limitsFile = async (soft: string) => {
    const file = join(dir, `limits-${soft}`);
    await writeFile(
      file,
      [
        'Limit                     Soft Limit           Hard Limit           Units     ',
        'Max processes             unlimited            unlimited            processes ',
        `Max open files            ${soft.padEnd(20)} 1048576              files     `,
        '',
      ].join('\n'),
    );
    return file;
  };

  it('When the open-file limit is read, then the soft limit is taken; "unlimited" or no file gives no cap', async () => {
    expect(openFileLimit(await limitsFile('20000'))).toBe(20_000);
    expect(openFileLimit(await limitsFile('unlimited'))).toBeUndefined();
    expect(openFileLimit(join(dir, 'missing'))).toBeUndefined();
  });

  it('When the default is derived, then it keeps the reserve back, and half of a small limit', () => {
    expect(defaultMaxConnections(20_000)).toBe(20_000 - RESERVED_FILES);
    expect(defaultMaxConnections(1_024)).toBe(512);
    expect(defaultMaxConnections(undefined)).toBeUndefined();
  });
});
