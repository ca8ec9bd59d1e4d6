import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

/** One measured row of a benchmark table (the shape bench/src/results.ts uses). */
export interface BenchRow {
  name: string;
  [column: string]: string | number;
}

/** Signature of bench/src/results.ts `saveResults`, which `pnpm bench` passes in. */
export type SaveResults = (id: string, title: string, rows: BenchRow[], notes?: string[]) => void;

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function formatCell(v: string | number | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(4);
  return v;
}

/**
 * A writer with the output format of bench/src/results.ts (`<id>.json` with
 * metadata and rows, `<id>.md` with a table and notes), for running this
 * benchmark on its own; `pnpm bench` passes the shared saveResults instead.
 */
export function resultsWriter(dir: string): SaveResults {
  return (id, title, rows, notes = []) => {
    mkdirSync(dir, { recursive: true });
    const meta = { id, title, date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, notes, rows };
    writeAtomic(join(dir, `${id}.json`), JSON.stringify(meta, null, 2) + '\n');
    const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
    const table = [
      `| ${columns.join(' | ')} |`,
      `| ${columns.map(() => '---').join(' | ')} |`,
      ...rows.map((r) => `| ${columns.map((c) => formatCell(r[c])).join(' | ')} |`),
    ].join('\n');
    const md = `# ${title}\n\n${meta.date} · Node ${meta.node} · ${meta.cpu} (${meta.cores} cores)\n\n${table}\n${notes.map((n) => `\n- ${n}`).join('')}\n`;
    writeAtomic(join(dir, `${id}.md`), md);
    console.log(md);
  };
}
