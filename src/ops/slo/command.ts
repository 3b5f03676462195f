import { generate, staleFiles, writeGenerated } from './generate.js';
import { SloFileError } from './objectives.js';

/** Relative to the working directory: a checkout's root. The help text in cli.ts repeats them. */
export const sloDefaults = { objectives: 'slo/objectives.yaml', out: 'deploy/monitoring' } as const;

/** `peakride slo`; returns the exit code. */
export const sloCommand = async (options: { objectives?: string; out?: string; check?: boolean }) => {
  const objectivesFile = options.objectives ?? sloDefaults.objectives;
  const outDir = options.out ?? sloDefaults.out;
  try {
    const { objectives, files } = await generate(objectivesFile);
    const count = `${objectives.objectives.length} objective(s)`;
    if (options.check) {
      const stale = await staleFiles(files, outDir);
      if (stale.length > 0) {
        process.stderr.write(
          `peakride slo: out of date with ${objectivesFile}: ${stale.join(', ')}\nRun "peakride slo" and commit the result.\n`,
        );
        return 1;
      }
      process.stdout.write(`${outDir}: up to date with ${objectivesFile} (${count})\n`);
      return 0;
    }
    const written = await writeGenerated(files, outDir);
    process.stdout.write(`${count} from ${objectivesFile}: wrote ${written.join(', ')}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof SloFileError)) throw error;
    process.stderr.write(`peakride slo: invalid SLO file: ${error.message}\n`);
    return 78;
  }
};
