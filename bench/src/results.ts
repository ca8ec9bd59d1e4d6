import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One measured row of a benchmark table. */
export interface BenchRow {
  name: string;
  [column: string]: string | number;
}

const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Writes `<id>.json` and `<id>.md` under bench/results/ and prints the table. */
export function saveResults(id: string, title: string, rows: BenchRow[], notes: string[] = []): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const meta = {
    id,
    title,
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    notes,
    rows,
  };
  writeAtomic(join(RESULTS_DIR, `${id}.json`), JSON.stringify(meta, null, 2) + '\n');
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const table = [
    `| ${columns.join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${columns.map((c) => formatCell(r[c])).join(' | ')} |`),
  ].join('\n');
  const md = `# ${title}\n\n${meta.date} · Node ${meta.node} · ${meta.cpu} (${meta.cores} cores)\n\n${table}\n${notes.map((n) => `\n- ${n}`).join('')}\n`;
  writeAtomic(join(RESULTS_DIR, `${id}.md`), md);
  console.log(md);
}

function formatCell(v: string | number | undefined): string {
  if (v === undefined) return '';
  if (typeof v !== 'number') return v;
  // 4 significant digits, but no exponent form for large values (54460, not 5.446e+4).
  if (Number.isInteger(v) || Math.abs(v) >= 1000) return String(Math.round(v));
  return v.toPrecision(4);
}
