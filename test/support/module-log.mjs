// Preloaded with `node --import` by the tracing tests: records every module URL resolved through
// the ES module loader (static imports and `import()` alike) to the file named by
// PEAKRIDE_TEST_MODULE_LOG, so a test can tell which packages a process loaded.
import { register } from 'node:module';

const file = process.env.PEAKRIDE_TEST_MODULE_LOG;
if (file) {
  const hooks = `
    import { appendFileSync } from 'node:fs';
    let file;
    export async function initialize(data) { file = data.file; }
    export async function resolve(specifier, context, nextResolve) {
      const resolved = await nextResolve(specifier, context);
      appendFileSync(file, resolved.url + '\\n');
      return resolved;
    }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`, { data: { file } });
}
