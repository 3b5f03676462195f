import { PGlite } from '@electric-sql/pglite';

let t = performance.now();
const db = await PGlite.create();
await db.exec('create table x(a int)');
const blob = await db.dumpDataDir('none');
console.log('create+dump', performance.now() - t, blob.size);
for (let i = 0; i < 3; i++) {
  t = performance.now();
  const db2 = await PGlite.create({ loadDataDir: blob });
  console.log('load from dump', performance.now() - t, (await db2.query('select count(*) from x')).rows);
}
