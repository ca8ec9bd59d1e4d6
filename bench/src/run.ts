/**
 * `pnpm bench` runs every suite; `pnpm bench <suite> [<suite> …]` runs the
 * named ones; `--key=value` options go to the suites that take them (see
 * bench/README.md). Each suite writes bench/results/<id>.json and <id>.md.
 * Suites are imported lazily, so one that needs the GPU stack or a native
 * addon loads it only when it runs.
 */
import { saveResults } from './results.js';

const args = process.argv.slice(2);
const options = new Map<string, string>();
for (const a of args.filter((x) => x.startsWith('--'))) {
  const m = /^--([a-z-]+)=(.*)$/.exec(a);
  if (!m) {
    console.error(`bad option '${a}': expected --name=value (e.g. --threads=1)`);
    process.exit(2);
  }
  options.set(m[1]!, m[2]!);
}

/** A numeric --name=value option, or undefined. */
function num(name: string): number | undefined {
  const v = options.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a non-negative number, got '${v}'`);
  return n;
}

const suites: Record<string, () => Promise<unknown>> = {
  'matmul-cpu': async () => (await import('./matmul-cpu.js')).benchMatmulCpu(),
  'gemm-cpu': async () => {
    const { benchGemm } = await import('@adapterkit/backend-cpu/bench');
    await benchGemm({ save: saveResults });
  },
  'quant-llama': async () => {
    const { registerFastCpuBackend } = await import('@adapterkit/backend-cpu');
    registerFastCpuBackend(); // benchQuant picks 'cpu' when it is registered, else 'cpu-ref'
    const { benchQuant } = await import('@adapterkit/quant/bench');
    await benchQuant({ save: saveResults });
  },
  'bert-forward': async () =>
    (await import('./bert-forward.js')).benchBertForward({ threads: num('threads'), rounds: num('rounds'), refReps: num('ref-reps'), batch: num('batch') }),
  'train-step-cpu': async () =>
    (await import('./train-step-cpu.js')).benchTrainStep({ threads: num('threads'), rounds: num('rounds'), refSteps: num('ref-steps') }),
  'matmul-webgpu': async () => (await import('./matmul-webgpu.js')).benchMatmulWebGpu({ n: num('n'), rounds: num('rounds') }),
  'attention-webgpu': async () =>
    (await import('./attention-webgpu.js')).benchAttentionWebGpu({ rounds: num('rounds'), perTiming: num('per-timing'), cpuRef: num('cpu-ref') !== 0 }),
};

const wanted = args.filter((a) => !a.startsWith('-'));
for (const name of wanted) {
  if (!suites[name]) {
    console.error(`unknown benchmark '${name}'; available: ${Object.keys(suites).join(', ')}`);
    process.exit(2);
  }
}
for (const name of wanted.length ? wanted : Object.keys(suites)) {
  const t0 = performance.now();
  console.log(`\n== ${name}`);
  await suites[name]!();
  console.log(`== ${name}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
// Native thread pools and Dawn keep handles open; the results are written, so leave.
process.exit(0);
