import { benchMatmulCpu } from './matmul-cpu.js';

/** Runs every benchmark (`pnpm bench`), or those named on the command line. */
const suites: Record<string, () => Promise<void>> = {
  'matmul-cpu': () => benchMatmulCpu(),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const name of wanted.length ? wanted : Object.keys(suites)) {
  const suite = suites[name];
  if (!suite) {
    console.error(`unknown benchmark '${name}'; available: ${Object.keys(suites).join(', ')}`);
    process.exit(2);
  }
  await suite();
}
