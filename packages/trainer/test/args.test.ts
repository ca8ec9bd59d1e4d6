import { describe, expect, it } from 'vitest';
import { ArgumentError, adapterArguments, createSchedule, trainingArguments, warmupStepsFor } from '../src/index.js';

describe('TrainingArguments', () => {
  it('fills HF defaults (learning rate 1e-4 for adapters)', () => {
    const a = trainingArguments({ outputDir: 'out' });
    expect(a).toMatchObject({ learningRate: 1e-4, numTrainEpochs: 3, maxSteps: -1, perDeviceTrainBatchSize: 8, gradientAccumulationSteps: 1, maxGradNorm: 1, weightDecay: 0, lrSchedulerType: 'linear', seed: 42, evalStrategy: 'no', saveStrategy: 'steps', saveSteps: 500 });
    expect(a.metricForBestModel).toBeUndefined();
  });

  it('names the field in every validation error', () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ outputDir: '' }, 'outputDir'],
      [{ learningRate: -1 }, 'learningRate'],
      [{ learningRate: Number.NaN }, 'learningRate'],
      [{ perDeviceTrainBatchSize: 0 }, 'perDeviceTrainBatchSize'],
      [{ perDeviceEvalBatchSize: 1.5 }, 'perDeviceEvalBatchSize'],
      [{ gradientAccumulationSteps: -2 }, 'gradientAccumulationSteps'],
      [{ warmupRatio: 1 }, 'warmupRatio'],
      [{ warmupSteps: -1 }, 'warmupSteps'],
      [{ lrSchedulerType: 'poly' }, 'lrSchedulerType'],
      [{ evalStrategy: 'sometimes' }, 'evalStrategy'],
      [{ saveStrategy: 'always' }, 'saveStrategy'],
      [{ maxGradNorm: -1 }, 'maxGradNorm'],
      [{ seed: -3 }, 'seed'],
      [{ maxSteps: 2.5 }, 'maxSteps'],
      [{ numTrainEpochs: 0 }, 'numTrainEpochs'],
      [{ loadBestModelAtEnd: true }, 'loadBestModelAtEnd'],
      [{ loadBestModelAtEnd: true, evalStrategy: 'epoch', saveStrategy: 'steps' }, 'loadBestModelAtEnd'],
      [{ loadBestModelAtEnd: true, evalStrategy: 'steps', evalSteps: 3, saveStrategy: 'steps', saveSteps: 4 }, 'saveSteps'],
      [{ earlyStoppingPatience: 2 }, 'earlyStoppingPatience'],
      [{ saveTotalLimit: 0 }, 'saveTotalLimit'],
      [{ learningRat: 1e-3 }, 'learningRat'],
    ];
    for (const [fields, field] of bad) {
      let err: unknown;
      try {
        trainingArguments({ outputDir: 'out', ...fields } as never);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(fields)).toBeInstanceOf(ArgumentError);
      expect((err as ArgumentError).field, JSON.stringify(fields)).toBe(field);
      expect((err as Error).message.startsWith(`${field}:`)).toBe(true);
    }
  });

  it('derives evalSteps, the best-model metric and its direction', () => {
    const a = trainingArguments({ outputDir: 'o', evalStrategy: 'steps', saveStrategy: 'steps', saveSteps: 100, loggingSteps: 25, loadBestModelAtEnd: true });
    expect(a.evalSteps).toBe(25);
    expect(a.metricForBestModel).toBe('loss');
    expect(a.greaterIsBetter).toBe(false);
    expect(trainingArguments({ outputDir: 'o', evalStrategy: 'epoch', saveStrategy: 'epoch', loadBestModelAtEnd: true, metricForBestModel: 'accuracy' }).greaterIsBetter).toBe(true);
    expect(trainingArguments({ outputDir: 'o', maxSteps: 10, numTrainEpochs: 0 }).maxSteps).toBe(10);
  });

  it('warmup: steps win over ratio; ratio rounds up (HF get_warmup_steps)', () => {
    expect(warmupStepsFor({ warmupSteps: 7, warmupRatio: 0.5 }, 100)).toBe(7);
    expect(warmupStepsFor({ warmupSteps: 0, warmupRatio: 0.06 }, 101)).toBe(7);
  });
});

describe('AdapterArguments', () => {
  it('has Python defaults and checks fields', () => {
    expect(adapterArguments()).toEqual({ trainAdapter: false, loadAdapter: '', adapterConfig: 'seq_bn', loadLangAdapter: null, langAdapterConfig: null });
    expect(() => adapterArguments({ trainAdapter: 'yes' as never })).toThrow(/^trainAdapter:/);
    expect(() => adapterArguments({ adapter_config: 'x' } as never)).toThrow(/^adapter_config: unknown adapter argument/);
  });
});

describe('schedules (HF get_scheduler factors)', () => {
  const lrs = (type: Parameters<typeof createSchedule>[0]) => {
    const s = createSchedule(type, 1, 2, 10);
    return Array.from({ length: 11 }, (_, k) => Number(s.lrAt(k).toFixed(6)));
  };
  it('linear: warmup then linear decay to 0', () => {
    expect(lrs('linear')).toEqual([0, 0.5, 1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0]);
  });
  it('cosine: warmup then half a cosine', () => {
    const v = lrs('cosine');
    expect(v.slice(0, 3)).toEqual([0, 0.5, 1]);
    expect(v[6]).toBeCloseTo(0.5, 6);
    expect(v[10]).toBeCloseTo(0, 6);
    expect(v[4]).toBeCloseTo(0.5 * (1 + Math.cos((Math.PI * 2) / 8)), 6);
  });
  it('constant ignores warmup; constant_with_warmup does not', () => {
    expect(lrs('constant')).toEqual(new Array(11).fill(1));
    expect(lrs('constant_with_warmup')).toEqual([0, 0.5, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });
});
