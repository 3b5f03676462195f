import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { TestProject } from 'vitest/node';

/**
 * A fresh PGlite runs initdb (about 5 s here); loading a dumped data directory takes about
 * 1.3 s. So the first run builds one empty, unmigrated database and every test file starts
 * from a copy of it. The file is keyed by the PGlite version so an upgrade rebuilds it.
 */
export default async function setup(project: TestProject) {
  const { version } = JSON.parse(
    await readFile(new URL('../../node_modules/@electric-sql/pglite/package.json', import.meta.url), 'utf8'),
  ) as { version: string };
  const key = createHash('sha256').update(version).digest('hex').slice(0, 12);
  const template = join(tmpdir(), `peakride-pglite-template-${key}.tar`);
  if (!existsSync(template)) {
    const db = await PGlite.create();
    const dump = await db.dumpDataDir('none');
    await db.close();
    const partial = `${template}.${process.pid}`;
    await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
    await rename(partial, template);
  }
  project.provide('pgliteTemplate', template);

  if (!process.env.DATABASE_URL) {
    console.warn('\n  DATABASE_URL is unset: the PostgreSQL runs of the backend suites are skipped.\n');
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
  }
}
