// Packs what a GPU session needs into packages/backend-cuda/.gpu-carry/ (git-
// ignored; name it in the device tool's `carry`): the Node binary (xz, the
// device machine has no Node), gpu/check.ts bundled with core, the
// bottleneck method and this package (one file, no node_modules), the native
// addon built here, and the PyTorch twin of the bench. See DEVELOPERS.md,
// "Running on the GPU machine".
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.gpu-carry');
const addon = join(root, 'build', 'Release', 'adapterkit_cuda.node');
if (!existsSync(addon)) {
  console.error(`no native addon at ${addon}: build it first (ADAPTERKIT_CUDA_HOME=… pnpm --filter @adapterkit/backend-cuda build:native)`);
  process.exit(1);
}
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const require = createRequire(import.meta.url);
const esbuild = require('esbuild');
const packages = join(root, '..');
esbuild.buildSync({
  entryPoints: [join(root, 'gpu', 'check.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: join(out, 'check.mjs'),
  // One copy of core (one kernel registry) for this package, the method and the conformance cases.
  alias: {
    '@adapterkit/core/conformance': join(packages, 'core', 'src', 'conformance', 'index.ts'),
    '@adapterkit/core': join(packages, 'core', 'src', 'index.ts'),
    '@adapterkit/method-bottleneck': join(packages, 'method-bottleneck', 'src', 'index.ts'),
    // The conformance module defines vitest suites at import; check.ts only uses its case lists.
    vitest: join(root, 'gpu', 'vitest-stub.mjs'),
  },
  // ESM output still meets CommonJS dependencies that call require().
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
});
copyFileSync(addon, join(out, 'adapterkit_cuda.node'));
copyFileSync(join(root, 'bench', 'pytorch_step.py'), join(out, 'pytorch_step.py'));
execFileSync('sh', ['-c', `xz -T2 -6 -c "${process.execPath}" > "${join(out, 'node.xz')}"`]);
writeFileSync(
  join(out, 'run.sh'),
  `#!/bin/sh
# On the device machine, from the repository root: sh packages/backend-cuda/.gpu-carry/run.sh [check.mjs args]
set -u
C=packages/backend-cuda/.gpu-carry
OUT=\${OUT:-/tmp/out}; mkdir -p "$OUT"
xz -dc $C/node.xz > /tmp/node && chmod +x /tmp/node
# CUDA 13 libraries of the image: the toolkit, then the nvidia wheels on python3's path.
ADAPTERKIT_CUDA_LIB_DIRS=$(python3 -c 'import os, nvidia; print(":".join(os.path.join(p, c, "lib") for p in nvidia.__path__ for c in ("cu13", "cuda_runtime", "cublas", "cuda_nvrtc")))' 2>/dev/null)
export ADAPTERKIT_CUDA_LIB_DIRS="/usr/local/cuda/lib64:/usr/local/cuda/targets/x86_64-linux/lib:$ADAPTERKIT_CUDA_LIB_DIRS"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/nvidia-smi.txt"
ADAPTERKIT_CUDA_ADDON=$PWD/$C/adapterkit_cuda.node ADAPTERKIT_CUDA_CACHE_DIR=/tmp/adapterkit-cuda-cache \\
  /tmp/node $C/check.mjs --out "$OUT" "$@" 2>&1 | tee "$OUT/check.log"
`,
);
const size = (f) => `${(statSync(join(out, f)).size / 2 ** 20).toFixed(1)} MiB`;
console.log(`packed ${out}: node.xz ${size('node.xz')}, check.mjs ${size('check.mjs')}, adapterkit_cuda.node ${size('adapterkit_cuda.node')}`);
