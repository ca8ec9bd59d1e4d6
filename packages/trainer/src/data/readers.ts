import { parseDelimited, stripBom } from './delimited.js';

/** One example as read from a file: column name → value. */
export type Row = Record<string, string | number | boolean | null | unknown>;

/** File formats the readers understand. */
export type TableFormat = 'tsv' | 'csv' | 'jsonl' | 'json';

/** Options of `readTable`. */
export interface ReadTableOptions {
  /** Format; default from the extension (.tsv/.txt → tsv, .csv, .jsonl, .json). */
  format?: TableFormat;
  /** The first line names the columns (default true for tsv/csv). */
  header?: boolean;
  /** Column names for files without a header (or to rename them, by position). */
  columnNames?: string[];
  /** Honour quotes in delimited files (default: true for csv, false for tsv, as GLUE's QUOTE_NONE). */
  quotes?: boolean;
  /** Keep only the first N rows (after skipping malformed ones). */
  limit?: number;
  /**
   * Rows whose field count differs from the header: 'error' (default) or
   * 'skip' (the GLUE readers skip a few malformed lines, as HF's datasets do).
   */
  onBadRow?: 'error' | 'skip';
}

/** Guesses the format from a file name. */
export function formatOf(path: string): TableFormat {
  const ext = path.toLowerCase().split('.').pop() ?? '';
  if (ext === 'tsv' || ext === 'txt') return 'tsv';
  if (ext === 'csv') return 'csv';
  if (ext === 'jsonl' || ext === 'ndjson') return 'jsonl';
  if (ext === 'json') return 'json';
  throw new Error(`cannot tell the format of ${path} from its extension; pass format: 'tsv' | 'csv' | 'jsonl' | 'json'`);
}

/**
 * Parses table text into rows. Delimited files map header names (or
 * `columnNames`) to fields; JSON Lines gives one object per line; JSON takes
 * an array of objects (or `{data: [...]}`, as HF's json loader).
 */
export function parseTable(text: string, opts: ReadTableOptions & { format: TableFormat; source?: string }): Row[] {
  const src = opts.source ?? '<text>';
  const limit = opts.limit ?? Infinity;
  if (opts.format === 'jsonl') {
    const out: Row[] = [];
    const lines = stripBom(text).split(/\r?\n/);
    for (let i = 0; i < lines.length && out.length < limit; i++) {
      const l = lines[i]!.trim();
      if (!l) continue;
      let v: unknown;
      try {
        v = JSON.parse(l);
      } catch (e) {
        throw new Error(`${src}:${i + 1}: invalid JSON: ${(e as Error).message}`);
      }
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${src}:${i + 1}: each line must be a JSON object`);
      out.push(v as Row);
    }
    return out;
  }
  if (opts.format === 'json') {
    let v: unknown;
    try {
      v = JSON.parse(stripBom(text));
    } catch (e) {
      throw new Error(`${src}: invalid JSON: ${(e as Error).message}`);
    }
    const arr = Array.isArray(v) ? v : (v as { data?: unknown })?.data;
    if (!Array.isArray(arr)) throw new Error(`${src}: expected an array of objects or {"data": [...]}`);
    return (arr as Row[]).slice(0, Number.isFinite(limit) ? limit : undefined);
  }
  const delimiter = opts.format === 'csv' ? ',' : '\t';
  const quotes = opts.quotes ?? opts.format === 'csv';
  const rows = parseDelimited(text, { delimiter, quotes });
  const header = opts.header ?? true;
  let names: string[];
  let start = 0;
  if (header) {
    if (!rows.length) return [];
    names = rows[0]!.map((h) => h.trim());
    start = 1;
    if (opts.columnNames) names = opts.columnNames.concat(names.slice(opts.columnNames.length));
  } else {
    if (!opts.columnNames) throw new Error(`${src}: a file without a header needs columnNames`);
    names = opts.columnNames;
  }
  const out: Row[] = [];
  for (let r = start; r < rows.length && out.length < limit; r++) {
    const fields = rows[r]!;
    if (fields.length === 1 && fields[0] === '') continue;
    if (fields.length !== names.length) {
      if (opts.onBadRow === 'skip') continue;
      throw new Error(`${src}: row ${r + 1} has ${fields.length} fields, expected ${names.length} (${names.join(', ')})`);
    }
    const row: Row = {};
    names.forEach((n, i) => (row[n] = fields[i]!));
    out.push(row);
  }
  return out;
}

/** Reads a TSV, CSV, JSON Lines or JSON file into rows (see `parseTable`). */
export async function readTable(path: string, opts: ReadTableOptions = {}): Promise<Row[]> {
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read data file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseTable(text, { ...opts, format: opts.format ?? formatOf(path), source: path });
}

/** Reads a plain text file as lines (for masked-LM corpora), dropping empty ones unless asked. */
export async function readLines(path: string, opts: { keepEmpty?: boolean; limit?: number } = {}): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read text file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const lines = stripBom(text).split(/\r?\n/);
  const kept = opts.keepEmpty ? lines : lines.filter((l) => l.trim() !== '');
  return kept.slice(0, opts.limit ?? kept.length);
}
