import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { renderReportHtml } from './html.js';
import type { Report } from './report.js';

/** Writes report.json and report.html into `dir` (created if needed); returns their paths. */
export const writeReport = async (dir: string, report: Report): Promise<{ json: string; html: string }> => {
  await mkdir(dir, { recursive: true });
  const json = resolve(join(dir, 'report.json'));
  const html = resolve(join(dir, 'report.html'));
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(html, renderReportHtml(report));
  return { json, html };
};
