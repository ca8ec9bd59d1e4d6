import { describe, expect, it } from 'vitest';
import { accuracy, argmaxRows, averageRanks, f1, glueComputeMetrics, glueTask, matthewsCorrelation, pearson, spearman } from '../src/index.js';

describe('classification metrics (hand-computed)', () => {
  // labels 1 1 1 0 0 0 1 0, preds 1 0 1 0 1 0 1 1: tp 3, fn 1, fp 2, tn 2.
  const labels = [1, 1, 1, 0, 0, 0, 1, 0];
  const preds = [1, 0, 1, 0, 1, 0, 1, 1];
  it('accuracy', () => expect(accuracy(preds, labels)).toBe(5 / 8));
  it('binary F1 = 2tp / (2tp + fp + fn)', () => expect(f1(preds, labels)).toBeCloseTo(6 / 9, 12));
  it('macro F1 averages per-class F1', () => {
    // class 0: tp 2, fp 1, fn 2 → 4/7; class 1: 6/9.
    expect(f1(preds, labels, { average: 'macro' })).toBeCloseTo((4 / 7 + 6 / 9) / 2, 12);
  });
  it('binary F1 of a class never predicted nor present is 0', () => expect(f1([0, 0], [0, 0])).toBe(0));
  it('MCC = (tp·tn − fp·fn) / √((tp+fp)(tp+fn)(tn+fp)(tn+fn))', () => {
    expect(matthewsCorrelation(preds, labels)).toBeCloseTo((3 * 2 - 2 * 1) / Math.sqrt(5 * 4 * 4 * 3), 12);
    expect(matthewsCorrelation([1, 1, 1], [0, 1, 0])).toBe(0);
    expect(matthewsCorrelation(labels, labels)).toBeCloseTo(1, 12);
  });
  it('multi-class MCC (Gorodkin R_K)', () => {
    // true [2,0,2,2,0,1], pred [0,0,2,2,0,2]: s 6, c 4, t = (2,1,3), p = (3,0,3), Σp·t = 15 → (24 − 15) / √((36 − 18)(36 − 14)).
    expect(matthewsCorrelation([0, 0, 2, 2, 0, 2], [2, 0, 2, 2, 0, 1])).toBeCloseTo(9 / Math.sqrt(18 * 22), 12);
  });
  it('argmax of logit rows', () => expect(Array.from(argmaxRows([0.1, 0.9, 2, -1, 0.5, 0.5], 2))).toEqual([1, 0, 0]));
});

describe('correlations (hand-computed)', () => {
  it('Pearson', () => {
    // x = 1..5, y = 2,4,5,4,5: r = 6 / √(10·6).
    expect(pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5])).toBeCloseTo(6 / Math.sqrt(60), 12);
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNaN();
  });
  it('average ranks for ties', () => expect(Array.from(averageRanks([10, 20, 20, 5, 20]))).toEqual([2, 4, 4, 1, 4]));
  it('Spearman with ties is Pearson of average ranks', () => {
    // ranks x: 1,2.5,2.5,4 ; y: 1,2,3,4 → cov 2.5 ... r = 2.5/√(4.5·5).
    expect(spearman([1, 2, 2, 3], [10, 20, 30, 40])).toBeCloseTo(4.5 / Math.sqrt(4.5 * 5), 12);
    expect(spearman([1, 2, 3, 4], [1, 4, 9, 16])).toBeCloseTo(1, 12);
  });
});

describe('GLUE metrics', () => {
  it('MRPC: accuracy, F1 and combined_score', () => {
    // argmax → 1, 0, 1 against 1, 1, 0: one right; class 1: tp 1, fp 1, fn 1 → F1 0.5.
    const m = glueComputeMetrics(glueTask('mrpc'))({ predictions: Float32Array.from([0, 1, 1, 0, 0, 1]), numLabels: 2, labels: Float64Array.from([1, 1, 0]) });
    expect(m).toEqual({ accuracy: 1 / 3, f1: 0.5, combined_score: (1 / 3 + 0.5) / 2 });
  });
  it('STS-B: Pearson and Spearman on the single regression output', () => {
    const m = glueComputeMetrics(glueTask('stsb'))({ predictions: Float32Array.from([1, 2, 3, 4, 5]), numLabels: 1, labels: Float64Array.from([2, 4, 5, 4, 5]) });
    expect(m.pearson).toBeCloseTo(6 / Math.sqrt(60), 6);
    expect(Object.keys(m)).toEqual(['pearson', 'spearmanr', 'combined_score']);
  });
  it('CoLA: Matthews correlation', () => {
    const m = glueComputeMetrics(glueTask('cola'))({ predictions: Float32Array.from([1, 0, 0, 1]), numLabels: 2, labels: Float64Array.from([0, 1]) });
    expect(m).toEqual({ matthews_correlation: 1 });
  });
});
