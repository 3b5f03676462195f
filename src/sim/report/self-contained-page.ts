import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * What a self-contained HTML page needs (the simulator's report.html, the capacity model's
 * chart): uPlot's script and stylesheet to inline, and escaping for text and for a JSON data
 * block, so the page opens offline and nothing in the data can turn into markup.
 */

/** uPlot from node_modules: from src/ under vitest and from the bundle dist/peakride.js alike. */
let uplot: { script: string; style: string } | undefined;
export const uplotAssets = () => {
  if (uplot) return uplot;
  const require = createRequire(import.meta.url);
  const script = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
  const style = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
  // Either would end its element early; no uPlot release has them, a future one must not.
  if (/<\/script|<!--/i.test(script))
    throw new Error('uPlot.iife.min.js cannot be inlined: it contains </script or <!--');
  if (/<\/style/i.test(style)) throw new Error('uPlot.min.css cannot be inlined: it contains </style');
  uplot = { script, style };
  return uplot;
};

export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/** JSON that no string inside can turn into markup: `<` becomes \u003c, so `</script>` never appears. */
export const jsonForScript = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');
