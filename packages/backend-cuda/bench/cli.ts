/**
 * `pnpm --filter @adapterkit/backend-cuda bench [--steps N] [--batch B] [--seq S] [--fp32] [--tf32] [--out FILE]`
 * Runs bench/train-step.ts and prints its result as JSON (also to FILE).
 */
import { writeFileSync } from 'node:fs';
import { benchTrainStep, type TrainStepOptions } from './train-step.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const opts: TrainStepOptions = {
  steps: arg('steps') ? Number(arg('steps')) : undefined,
  warmup: arg('warmup') ? Number(arg('warmup')) : undefined,
  batch: arg('batch') ? Number(arg('batch')) : undefined,
  seq: arg('seq') ? Number(arg('seq')) : undefined,
  layers: arg('layers') ? Number(arg('layers')) : undefined,
  autocast: process.argv.includes('--fp32') ? null : 'bf16',
  tf32: process.argv.includes('--tf32'),
};
const result = await benchTrainStep(opts);
const json = JSON.stringify(result, null, 2);
console.log(json);
const out = arg('out');
if (out) writeFileSync(out, `${json}\n`);
if (result.skipped) console.warn(`train-step bench skipped: ${result.skipped}`);
