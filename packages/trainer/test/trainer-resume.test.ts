import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AdapterTrainer, JsonlLog, type TrainerCallback, type TrainingArguments } from '../src/index.js';
import { sst2Features, tinyModel, trainableSnapshot } from './helpers/tiny.js';

const here = dirname(fileURLToPath(import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'trainer-resume-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const quiet = { print: () => {} };

/** Dropout stays on (tinyModel keeps the fixture's 0.1): resuming must restore the random stream too. */
const OVERRIDES = { learningRate: 2e-3, perDeviceTrainBatchSize: 16, warmupSteps: 2, weightDecay: 0.01, seed: 11, loggingSteps: 2, plotCurves: false } as const;

/** Stops training at the end of the first epoch (the schedule still spans every epoch, as a real interruption would). */
const stopAfterFirstEpoch: TrainerCallback = {
  onEpochEnd: (ctx) => {
    ctx.control.shouldTrainingStop = true;
  },
};

async function run(outputDir: string, args: Partial<TrainingArguments>, resume?: string | boolean, callbacks: TrainerCallback[] = []): Promise<Map<string, Float32Array>> {
  const model = await tinyModel();
  const trainer = new AdapterTrainer({ model, args: { outputDir, ...OVERRIDES, ...args }, trainDataset: sst2Features(model.tokenizer, 'sst2-train-64.tsv'), callbacks, ...quiet });
  await trainer.train({ resumeFromCheckpoint: resume });
  return trainableSnapshot(model);
}

function expectIdentical(a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [k, v] of a) expect(Buffer.from(b.get(k)!.buffer).equals(Buffer.from(v.buffer)), k).toBe(true);
}

describe('resume from checkpoint', () => {
  it('2 epochs straight equal 1 epoch + resume, bit for bit (dropout on, grad accumulation, warmup)', async () => {
    const args = { numTrainEpochs: 2, saveStrategy: 'epoch', gradientAccumulationSteps: 2, perDeviceTrainBatchSize: 8 } as const;
    const straight = await run(join(tmp, 'a'), args);
    const out = join(tmp, 'b');
    await run(out, args, undefined, [stopAfterFirstEpoch]);
    expect(readdirSync(out).filter((f) => f.startsWith('checkpoint-'))).toEqual(['checkpoint-4']);
    const resumed = await run(out, args, join(out, 'checkpoint-4'));
    expectIdentical(straight, resumed);
    // And the untrained model differs, so the comparison means something.
    const fresh = trainableSnapshot(await tinyModel());
    expect([...fresh].some(([k, v]) => !Buffer.from(v.buffer).equals(Buffer.from(straight.get(k)!.buffer)))).toBe(true);
  });

  it('a run killed with SIGKILL after its first checkpoint resumes to the same weights', async () => {
    const args = { numTrainEpochs: 3, saveStrategy: 'steps' as const, saveSteps: 3 };
    const reference = await run(join(tmp, 'ref'), args);
    const out = join(tmp, 'killed');
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'helpers', 'child-train.ts'), out, JSON.stringify({ ...OVERRIDES, ...args })], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<NodeJS.Signals | number | null>((res) => child.on('exit', (code, sig) => res(sig ?? code)));
    // Kill as soon as the first checkpoint is complete (the child is slowed down per step so it is mid-run).
    const deadline = Date.now() + 60_000;
    while (!existsSync(join(out, 'checkpoint-3')) && Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`child exited early (${child.exitCode}): ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(existsSync(join(out, 'checkpoint-3'))).toBe(true);
    await new Promise((r) => setTimeout(r, 150));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(existsSync(join(out, 'checkpoint-12'))).toBe(false);
    const resumed = await run(out, args, true);
    expectIdentical(reference, resumed);
    // log.jsonl: entries past the checkpoint that the killed run wrote were dropped on resume, so steps never repeat.
    const steps = (await JsonlLog.read(join(out, 'log.jsonl'))).filter((e) => 'loss' in e && !('train_loss' in e)).map((e) => e.step as number);
    expect(steps).toEqual([...new Set(steps)].sort((a, b) => a - b));
    expect(steps[steps.length - 1]).toBe(12);
  });
});
