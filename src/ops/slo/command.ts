import { generate, staleFiles, writeGenerated } from './generate.js';
import { SloFileError } from './objectives.js';

/** Relative to the working directory: a checkout's root. The help text in cli.ts repeats them. */
export const sloDefaults = {
  objectives: 'slo/objectives.yaml',
  out: 'deploy/monitoring',
  /** The kustomize component that loads the rules and the dashboard into a cluster. */
  kubernetesOut: 'deploy/kubernetes/components/monitoring',
} as const;

/**
 * Where each set of generated files goes. By default, the checkout's layout; with `--out DIR`,
 * every file goes to DIR (a trial run into a scratch directory never touches the checkout).
 */
const destinations = (generated: Awaited<ReturnType<typeof generate>>, out: string | undefined) =>
  out === undefined
    ? [
        { dir: sloDefaults.out, files: generated.files },
        { dir: sloDefaults.kubernetesOut, files: generated.kubernetes },
      ]
    : [{ dir: out, files: { ...generated.files, ...generated.kubernetes } }];

/** `peakride slo`; returns the exit code. */
export const sloCommand = async (options: { objectives?: string; out?: string; check?: boolean }) => {
  const objectivesFile = options.objectives ?? sloDefaults.objectives;
  try {
    const generated = await generate(objectivesFile);
    const targets = destinations(generated, options.out);
    const count = `${generated.objectives.objectives.length} objective(s)`;
    if (options.check) {
      const stale: string[] = [];
      for (const { dir, files } of targets) stale.push(...(await staleFiles(files, dir)));
      if (stale.length > 0) {
        process.stderr.write(
          `peakride slo: out of date with ${objectivesFile}: ${stale.join(', ')}\nRun "peakride slo" and commit the result.\n`,
        );
        return 1;
      }
      const dirs = targets.map(({ dir }) => dir).join(', ');
      process.stdout.write(`${dirs}: up to date with ${objectivesFile} (${count})\n`);
      return 0;
    }
    const written: string[] = [];
    for (const { dir, files } of targets) written.push(...(await writeGenerated(files, dir)));
    process.stdout.write(`${count} from ${objectivesFile}: wrote ${written.join(', ')}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof SloFileError)) throw error;
    process.stderr.write(`peakride slo: invalid SLO file: ${error.message}\n`);
    return 78;
  }
};
