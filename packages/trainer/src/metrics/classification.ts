/**
 * Classification metrics over class ids, matching scikit-learn's
 * definitions (accuracy_score, f1_score, matthews_corrcoef).
 */

function checkPair(name: string, preds: ArrayLike<number>, labels: ArrayLike<number>): void {
  if (preds.length !== labels.length) throw new Error(`${name}: ${preds.length} predictions but ${labels.length} labels`);
  if (preds.length === 0) throw new Error(`${name}: no examples`);
}

/** Fraction of predictions equal to the labels. */
export function accuracy(preds: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkPair('accuracy', preds, labels);
  let hit = 0;
  for (let i = 0; i < preds.length; i++) if (preds[i] === labels[i]) hit++;
  return hit / preds.length;
}

/** Per-class true positives, false positives and false negatives. */
function counts(preds: ArrayLike<number>, labels: ArrayLike<number>, cls: number): { tp: number; fp: number; fn: number } {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < preds.length; i++) {
    const p = preds[i] === cls;
    const l = labels[i] === cls;
    if (p && l) tp++;
    else if (p) fp++;
    else if (l) fn++;
  }
  return { tp, fp, fn };
}

/** F1 of one class: 2·tp / (2·tp + fp + fn); 0 when the class never occurs nor is predicted (sklearn's zero_division=0). */
function f1Of(c: { tp: number; fp: number; fn: number }): number {
  const d = 2 * c.tp + c.fp + c.fn;
  return d === 0 ? 0 : (2 * c.tp) / d;
}

/** Options of `f1`. */
export interface F1Options {
  /** 'binary' (default): F1 of `posLabel`; 'macro': unweighted mean over the classes present in labels or predictions. */
  average?: 'binary' | 'macro';
  /** Positive class for binary F1 (default 1). */
  posLabel?: number;
}

/** F1 score (GLUE MRPC/QQP use binary F1 of class 1). */
export function f1(preds: ArrayLike<number>, labels: ArrayLike<number>, opts: F1Options = {}): number {
  checkPair('f1', preds, labels);
  if ((opts.average ?? 'binary') === 'binary') return f1Of(counts(preds, labels, opts.posLabel ?? 1));
  const classes = [...new Set([...Array.from(preds), ...Array.from(labels)])];
  return classes.reduce((s, c) => s + f1Of(counts(preds, labels, c)), 0) / classes.length;
}

/**
 * Matthews correlation coefficient, multi-class form (Gorodkin's R_K, as
 * sklearn): (c·s − Σ p_k·t_k) / √((s² − Σ p_k²)(s² − Σ t_k²)); 0 when a
 * denominator factor is 0. Binary input gives the usual MCC.
 */
export function matthewsCorrelation(preds: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkPair('matthewsCorrelation', preds, labels);
  const s = preds.length;
  let c = 0;
  const p = new Map<number, number>();
  const t = new Map<number, number>();
  for (let i = 0; i < s; i++) {
    if (preds[i] === labels[i]) c++;
    p.set(preds[i]!, (p.get(preds[i]!) ?? 0) + 1);
    t.set(labels[i]!, (t.get(labels[i]!) ?? 0) + 1);
  }
  let pt = 0;
  for (const [k, pk] of p) pt += pk * (t.get(k) ?? 0);
  const sum2 = (m: Map<number, number>): number => [...m.values()].reduce((a, v) => a + v * v, 0);
  const den = Math.sqrt((s * s - sum2(p)) * (s * s - sum2(t)));
  return den === 0 ? 0 : (c * s - pt) / den;
}

/** Index of the largest value in each row of a [n, k] row-major matrix (ties: the first). */
export function argmaxRows(values: ArrayLike<number>, k: number): Int32Array {
  if (k < 1 || values.length % k !== 0) throw new Error(`argmaxRows: ${values.length} values do not form rows of ${k}`);
  const n = values.length / k;
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (values[r * k + j]! > values[r * k + best]!) best = j;
    out[r] = best;
  }
  return out;
}
