// Opens PGlite on an existing data directory and answers one query, then exits: what the
// embedded mode pays before any peakride code runs (bench/startup.mjs times it from spawn).
import { PGlite } from '@electric-sql/pglite';

const db = await PGlite.create({ dataDir: process.argv[2] });
await db.query('SELECT 1');
process.stdout.write('open\n');
await db.close();
