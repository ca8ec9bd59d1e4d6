// Builds the native addon with cmake-js against the CUDA headers found by
// find-cuda.mjs. Run as the package's `install` script it never fails the
// install: with no toolkit (CI), no compiler or no CMake, the reason goes to
// build/native-build-error.txt and at run time the backend reports
// `available: false` with that reason (an addon built earlier is kept). `--strict` (the build:native script)
// fails loudly instead. `--out DIR` builds into DIR instead of build/ (tests).
//
// On success build/cuda-config.json records where the toolkit was, so the
// addon finds the same libraries at run time without any environment.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findCudaToolkit } from './find-cuda.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const strict = argv.includes('--strict');
const outIdx = argv.indexOf('--out');
const out = outIdx >= 0 ? resolve(argv[outIdx + 1]) : join(root, 'build');
const errorFile = join(out, 'native-build-error.txt');
const configFile = join(out, 'cuda-config.json');
const NAME = '@adapterkit/backend-cuda';

function record(reason) {
  mkdirSync(out, { recursive: true });
  writeFileSync(errorFile, `${reason.trim()}\n`);
  rmSync(configFile, { force: true });
}

function fail(reason) {
  if (strict) {
    record(reason);
    console.error(`${NAME}: native build failed: ${reason}`);
    process.exit(1);
  }
  // A later `pnpm install` on a machine (or shell) without the toolkit keeps
  // an addon built earlier, and the record of where its toolkit was.
  if (existsSync(join(out, 'Release', 'adapterkit_cuda.node'))) {
    console.warn(`${NAME}: native build skipped (${reason.split('\n')[0]}); keeping the addon built earlier in ${out}`);
    process.exit(0);
  }
  record(reason);
  console.warn(`${NAME}: native addon not built (the 'cuda' backend will report available: false): ${reason.split('\n')[0]}`);
  process.exit(0);
}

if (process.env.ADAPTERKIT_CUDA_SKIP_NATIVE === '1') fail('skipped: ADAPTERKIT_CUDA_SKIP_NATIVE=1 was set during install');

const toolkit = findCudaToolkit(process.env);
if (!toolkit.ok) fail(toolkit.reason);

let cli;
try {
  cli = join(dirname(createRequire(import.meta.url).resolve('cmake-js/package.json')), 'bin', 'cmake-js');
} catch (e) {
  fail(`cmake-js is not installed (${e instanceof Error ? e.message : String(e)})`);
}

const args = [cli, 'compile', '--directory', root, '--out', out, `--CDADAPTERKIT_CUDA_INCLUDE_DIRS=${toolkit.includeDirs.join(';')}`];
if (process.env.ADAPTERKIT_CUDA_PARALLEL) args.push('--parallel', process.env.ADAPTERKIT_CUDA_PARALLEL);
const res = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
const output = `${res.stdout ?? ''}${res.stderr ?? ''}`;
if (res.error || res.status !== 0) {
  const tail = output.split('\n').filter((l) => l.trim()).slice(-25).join('\n');
  const why = res.error ? res.error.message : `cmake-js exited with status ${res.status}`;
  fail(`${why} (CUDA headers from ${toolkit.source}=${toolkit.root})\n${tail}`);
}
rmSync(errorFile, { force: true });
writeFileSync(
  configFile,
  `${JSON.stringify({ root: toolkit.root, source: toolkit.source, cudaVersion: toolkit.version, includeDirs: toolkit.includeDirs, libDirs: toolkit.libDirs, builtAt: new Date().toISOString() }, null, 2)}\n`,
);
if (strict) process.stdout.write(`${output.split('\n').slice(-5).join('\n')}\n`);
console.log(`${NAME}: native addon built against CUDA ${toolkit.version ?? '?'} headers from ${toolkit.root} (${join(out, 'Release', 'adapterkit_cuda.node')})`);
