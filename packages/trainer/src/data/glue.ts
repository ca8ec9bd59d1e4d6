import { readTable, type ReadTableOptions, type Row } from './readers.js';

/** GLUE task names (HF `task_to_keys`). */
export type GlueTaskName = 'cola' | 'sst2' | 'mrpc' | 'qqp' | 'stsb' | 'mnli' | 'qnli' | 'rte' | 'wnli';

/** Metrics a GLUE task reports (names as HF `evaluate.load("glue", task)` returns them). */
export type GlueMetricName = 'accuracy' | 'f1' | 'matthews_correlation' | 'pearson' | 'spearmanr';

/** Where the shared data (`/work/shared/data` layout, see its MANIFEST.md) keeps a task's splits. */
export interface GlueFileLayout {
  /** Path relative to the data root, per split. */
  files: Partial<Record<'train' | 'validation' | 'test', string>>;
  /** Reader options (column names for header-less files, renames, quoting). */
  read: ReadTableOptions;
  /** Column renames from the file's names to the task's (e.g. '#1 String' → 'sentence1'). */
  rename?: Record<string, string>;
  /** What the split files are, for messages and the README. */
  note: string;
}

/** One GLUE task. */
export interface GlueTask {
  name: GlueTaskName;
  /** First and optional second text column. */
  textColumns: readonly [string, string | null];
  /** Label names by id; empty for regression (stsb). */
  labels: readonly string[];
  isRegression: boolean;
  /** Metrics to compute, in HF's order. */
  metrics: readonly GlueMetricName[];
  /** The files in the shared data, when it has the task. */
  sharedData?: GlueFileLayout;
}

/** The GLUE tasks with HF's text keys, label lists and metrics. */
export const GLUE_TASKS: Readonly<Record<GlueTaskName, GlueTask>> = {
  cola: {
    name: 'cola',
    textColumns: ['sentence', null],
    labels: ['unacceptable', 'acceptable'],
    isRegression: false,
    metrics: ['matthews_correlation'],
    sharedData: {
      files: { train: 'glue/CoLA/train.tsv', validation: 'glue/CoLA/dev.tsv' },
      read: { header: false, columnNames: ['sentence', 'label'] },
      note: 'CoLA train 8551 / out-of-domain dev 516 (two columns, no header)',
    },
  },
  sst2: {
    name: 'sst2',
    textColumns: ['sentence', null],
    labels: ['negative', 'positive'],
    isRegression: false,
    metrics: ['accuracy'],
    sharedData: {
      // alps re-split GLUE's train into train/dev; its test.tsv is GLUE's dev set (872), which is what GLUE results report.
      files: { train: 'alps/SST-2/train.tsv', validation: 'alps/SST-2/test.tsv' },
      read: {},
      note: 'SST-2 train 60614 (part of GLUE train); validation = GLUE dev (872, alps test.tsv)',
    },
  },
  mrpc: {
    name: 'mrpc',
    textColumns: ['sentence1', 'sentence2'],
    labels: ['not_equivalent', 'equivalent'],
    isRegression: false,
    metrics: ['accuracy', 'f1'],
    sharedData: {
      files: { train: 'glue/MRPC/msr_paraphrase_train.txt', validation: 'glue/MRPC/msr_paraphrase_test.txt' },
      read: { onBadRow: 'skip' },
      rename: { Quality: 'label', '#1 String': 'sentence1', '#2 String': 'sentence2' },
      note: 'original MSRP train 4076 / test 1725 (validation = the MSRP test set); the train file has a BOM',
    },
  },
  qqp: { name: 'qqp', textColumns: ['question1', 'question2'], labels: ['not_duplicate', 'duplicate'], isRegression: false, metrics: ['accuracy', 'f1'] },
  stsb: { name: 'stsb', textColumns: ['sentence1', 'sentence2'], labels: [], isRegression: true, metrics: ['pearson', 'spearmanr'] },
  mnli: { name: 'mnli', textColumns: ['premise', 'hypothesis'], labels: ['entailment', 'neutral', 'contradiction'], isRegression: false, metrics: ['accuracy'] },
  qnli: { name: 'qnli', textColumns: ['question', 'sentence'], labels: ['entailment', 'not_entailment'], isRegression: false, metrics: ['accuracy'] },
  rte: {
    name: 'rte',
    textColumns: ['sentence1', 'sentence2'],
    labels: ['entailment', 'not_entailment'],
    isRegression: false,
    metrics: ['accuracy'],
    sharedData: {
      files: { train: 'glue/RTE/train.tsv', validation: 'glue/RTE/dev.tsv', test: 'glue/RTE/test.tsv' },
      read: { onBadRow: 'skip' },
      note: 'HF glue/rte export: train 2490 / dev 277 / test 3000 (unlabelled, -1)',
    },
  },
  wnli: { name: 'wnli', textColumns: ['sentence1', 'sentence2'], labels: ['not_entailment', 'entailment'], isRegression: false, metrics: ['accuracy'] },
};

/** The task definition; an error listing the tasks for unknown names. */
export function glueTask(name: string): GlueTask {
  const t = GLUE_TASKS[name.toLowerCase() as GlueTaskName];
  if (!t) throw new Error(`unknown GLUE task '${name}'; tasks: ${Object.keys(GLUE_TASKS).join(', ')}`);
  return t;
}

/** Tasks whose files are in the shared data folder. */
export function glueTasksInSharedData(): GlueTaskName[] {
  return (Object.values(GLUE_TASKS) as GlueTask[]).filter((t) => t.sharedData).map((t) => t.name);
}

/** A labelled text example: one or two texts, a class id or a regression value (null when unlabelled). */
export interface TextExample {
  text: string;
  textPair?: string;
  label: number | null;
}

/** How rows map to examples. */
export interface ExampleMapping {
  textColumns: readonly [string, string | null];
  labelColumn?: string;
  /** Label names by id (class labels may be ids or names in the file). */
  labels: readonly string[];
  isRegression: boolean;
}

/**
 * Picks text columns as run_glue.py does for custom files: sentence1 and
 * sentence2 when present, else the first two non-label columns, else one.
 */
export function inferTextColumns(columns: readonly string[], labelColumn = 'label'): [string, string | null] {
  if (columns.includes('sentence1') && columns.includes('sentence2')) return ['sentence1', 'sentence2'];
  const rest = columns.filter((c) => c !== labelColumn && c !== 'idx');
  if (rest.length === 0) throw new Error(`no text column among ${columns.join(', ')}`);
  return rest.length >= 2 ? [rest[0]!, rest[1]!] : [rest[0]!, null];
}

/**
 * Label list for a custom file as run_glue.py: regression when the labels
 * are non-integer numbers, else the sorted distinct labels.
 */
export function inferLabels(rows: readonly Row[], labelColumn = 'label'): { labels: string[]; isRegression: boolean } {
  const values = rows.map((r) => r[labelColumn]).filter((v) => v !== undefined && v !== null && v !== '');
  if (values.length === 0) throw new Error(`no '${labelColumn}' values to infer the labels from`);
  const nums = values.map((v) => (typeof v === 'number' ? v : Number(v)));
  if (nums.every((n) => Number.isFinite(n)) && nums.some((n) => !Number.isInteger(n))) return { labels: [], isRegression: true };
  const distinct = [...new Set(values.map(String))];
  distinct.sort((a, b) => (nums.every(Number.isFinite) ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0));
  return { labels: distinct, isRegression: false };
}

/** Converts rows to examples; labels may be ids ('0', 1) or names ('entailment'). Errors name the row. */
export function rowsToExamples(rows: readonly Row[], m: ExampleMapping, source = '<rows>'): TextExample[] {
  const labelCol = m.labelColumn ?? 'label';
  const [c1, c2] = m.textColumns;
  return rows.map((r, i) => {
    const text = r[c1];
    if (typeof text !== 'string') throw new Error(`${source}: row ${i + 1} has no text in column '${c1}' (columns: ${Object.keys(r).join(', ')})`);
    const ex: TextExample = { text, label: null };
    if (c2) {
      const pair = r[c2];
      if (typeof pair !== 'string') throw new Error(`${source}: row ${i + 1} has no text in column '${c2}'`);
      ex.textPair = pair;
    }
    const raw = r[labelCol];
    if (raw === undefined || raw === null || raw === '') return ex;
    if (m.isRegression) {
      const v = Number(raw);
      if (!Number.isFinite(v)) throw new Error(`${source}: row ${i + 1}: label '${String(raw)}' is not a number`);
      ex.label = v;
      return ex;
    }
    const s = String(raw).trim();
    const byName = m.labels.indexOf(s);
    const asId = /^-?\d+$/.test(s) ? Number(s) : NaN;
    if (asId === -1) return ex; // GLUE test files mark unlabelled rows with -1.
    if (Number.isInteger(asId) && asId >= 0 && asId < Math.max(m.labels.length, 1) && byName < 0) ex.label = asId;
    else if (byName >= 0) ex.label = byName;
    else throw new Error(`${source}: row ${i + 1}: label '${s}' is not one of ${m.labels.join(', ')} (or their ids)`);
    return ex;
  });
}

/**
 * Reads one split of a GLUE task from the shared data folder (layout of
 * /work/shared/data; see `GLUE_TASKS[task].sharedData`). `limit` keeps the
 * first N examples.
 */
export async function loadGlueSplit(task: GlueTaskName | string, split: 'train' | 'validation' | 'test', dataDir: string, limit?: number): Promise<TextExample[]> {
  const t = glueTask(task);
  const layout = t.sharedData;
  if (!layout) throw new Error(`the shared data has no files for GLUE task '${t.name}' (it has: ${glueTasksInSharedData().join(', ')}); pass --train_file/--validation_file`);
  const rel = layout.files[split];
  if (!rel) throw new Error(`the shared data has no '${split}' split for '${t.name}' (${layout.note})`);
  const { join } = await import('node:path');
  const path = join(dataDir, rel);
  let rows = await readTable(path, { ...layout.read, limit });
  if (layout.rename) {
    const ren = layout.rename;
    rows = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [ren[k] ?? k, v])));
  }
  return rowsToExamples(rows, { textColumns: t.textColumns, labels: t.labels, isRegression: t.isRegression }, path);
}
