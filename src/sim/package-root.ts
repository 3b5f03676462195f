import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The directory of our package.json, walking up from this module: src/sim/ under vitest and tsx,
 * dist/ in the bundle, node_modules/peakride/dist/ once installed. Scenarios, data and the built
 * `peakride` entry are found from it.
 */
export const packageRoot = (): string => {
  if (root) return root;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) {
      root = dir;
      return dir;
    }
    if (dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
};
