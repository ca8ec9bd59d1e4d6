/**
 * End-to-end: builds the page, serves it with `vite preview` (the repo-files
 * plugin serves the model and SST-2), and drives Debian's Chromium with
 * WebGPU on SwiftShader (software Vulkan, so CI needs no GPU) through a short
 * seeded training run. Then checks that
 *   (a) the loss falls,
 *   (b) the downloaded adapter loads in Node (core's loadAdapter, cpu-ref
 *       backend, the same MiniLM) and gives the browser's logits,
 *   (c) adapter_config.json has the Python library's keys.
 * It does not skip: without Chromium or a WebGPU adapter it fails and says why.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutoAdapterModel, noGrad, setBackend, tensor, tidy, type HfTokenizer } from '@adapterkit/core';
import '@adapterkit/method-bottleneck';
import '@adapterkit/method-lora';
import { chromium, type Browser } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PageState } from '../src/main.js';
import { unzipStore } from './zip-read.js';

const PKG = fileURLToPath(new URL('..', import.meta.url));
const MODEL = process.env.ADAPTERKIT_DEFAULT_MODEL ?? join(PKG, '..', '..', 'models', 'all-MiniLM-L6-v2');
const CHROMIUM = process.env.ADAPTERKIT_CHROMIUM ?? '/usr/bin/chromium';
/**
 * WebGPU is behind a flag in Chromium on Linux; without a GPU it runs on
 * SwiftShader, which the second flag pins so every machine computes the same
 * way. Playwright adds --headless and --no-sandbox (we run as root in CI).
 */
const CHROMIUM_FLAGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];
/**
 * A short, seeded run sized for SwiftShader on 2 shared cores (about 3–4 s a
 * step): 24 steps of 4 phrases of at most 16 tokens, 16 dev sentences. LoRA
 * sits in the top two layers only (leave_out 0–3), so backward stops there:
 * that halves a step's cost while the download still holds a real LoRA
 * adapter (the demo's default puts it in all six layers).
 */
const QUERY = `?steps=24&train=256&batch=4&maxLen=16&eval=16&lr=0.002&seed=1&adapter=${encodeURIComponent('lora[leave_out=[0,1,2,3]]')}`;
/**
 * Browser (WebGPU, SwiftShader) vs Node (cpu-ref) logits: the same f32
 * weights (the F16 base weights convert exactly, the adapter and head are
 * saved as f32), computed on different devices in a different order
 * (tiled matmuls, GPU reductions, the WGSL polynomial exp/erf), so they
 * agree to f32 rounding accumulated through six layers, not bit for bit:
 * |Δ| ≤ 1e-4 · max(1, |logit|) — the tolerance of the repository's WebGPU
 * suite for MiniLM outputs (test-utils TOL).
 */
const TOL = 1e-4;

const timings: Record<string, number> = {};
let t0 = performance.now();
function lap(name: string): void {
  const now = performance.now();
  timings[name] = Number(((now - t0) / 1000).toFixed(1));
  t0 = now;
}

let server: PreviewServer | undefined;
let browser: Browser | undefined;
let baseUrl = '';
let state: PageState | undefined;
let files: Map<string, Uint8Array> | undefined;
const tmp = mkdtempSync(join(tmpdir(), 'browser-webgpu-'));

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's (apt-get install -y --no-install-recommends chromium; .ci/run does) or set ADAPTERKIT_CHROMIUM`);
  }
  t0 = performance.now();
  await build({ root: PKG, configFile: join(PKG, 'vite.config.ts'), logLevel: 'warn' });
  lap('vite build');
  server = await preview({ root: PKG, configFile: join(PKG, 'vite.config.ts'), logLevel: 'warn', preview: { host: '127.0.0.1', port: 0 } });
  baseUrl = server.resolvedUrls!.local[0]!;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  lap('preview + chromium start');
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(tmp, { recursive: true, force: true });
  console.log(`timings (s): ${JSON.stringify(timings)}`);
});

describe('browser example on WebGPU', () => {
  it('Chromium offers a WebGPU adapter', async () => {
    const page = await browser!.newPage();
    // Any page of the server will do: localhost is a secure context, which WebGPU needs.
    await page.goto(`${baseUrl}model/config.json`);
    const found = await page.evaluate(async () => {
      const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
      if (!gpu) return 'navigator.gpu is missing';
      const adapter = await gpu.requestAdapter();
      if (!adapter) return 'navigator.gpu.requestAdapter() returned null';
      return `${adapter.info.vendor} ${adapter.info.architecture}`;
    });
    await page.close();
    console.log(`WebGPU adapter: ${found} (chromium ${browser!.version()}, flags ${CHROMIUM_FLAGS.join(' ')})`);
    expect(found, `no WebGPU in ${CHROMIUM} with ${CHROMIUM_FLAGS.join(' ')}`).toMatch(/swiftshader/);
  });

  it('trains, evaluates and offers the adapter files for download', async () => {
    const page = await browser!.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(m.text()));
    page.on('pageerror', (e) => logs.push(e.message));
    t0 = performance.now();
    await page.goto(`${baseUrl}${QUERY}`);
    const read = () => page.evaluate(() => (window as unknown as { __adapterkit: PageState }).__adapterkit);
    let lastPrint = 0;
    for (;;) {
      state = await read();
      if (state.status === 'done' || state.status === 'error') break;
      if (performance.now() - lastPrint > 15_000) {
        lastPrint = performance.now();
        console.log(`  ${((performance.now() - t0) / 1000).toFixed(0)} s: ${state.status}, step ${state.step}, loss ${state.losses.at(-1)?.toFixed(4) ?? '-'}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    lap('page run');
    expect(state.status, `the page failed: ${state.error}\nconsole: ${logs.join('\n')}`).toBe('done');
    console.log(`page timings (s): ${JSON.stringify(state.timings)}; ${state.trainableParameters} trainable parameters; dev accuracy ${state.accuracy} on ${state.evalCount}`);

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    files = unzipStore(new Uint8Array(readFileSync((await download.path())!)));
    console.log(`download ${download.suggestedFilename()}: ${[...files].map(([n, b]) => `${n} ${b.length} B`).join(', ')}`);
    expect([...files.keys()].sort()).toEqual(['sst2/adapter.safetensors', 'sst2/adapter_config.json', 'sst2/head_config.json', 'sst2/model_head.safetensors']);
    await page.close();
  });

  it('(a) the loss falls: mean of the last 5 steps < mean of the first 5', () => {
    const losses = state!.losses;
    expect(losses).toHaveLength(state!.params!.steps);
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const first = mean(losses.slice(0, 5));
    const last = mean(losses.slice(-5));
    console.log(`losses: ${losses.map((l) => l.toFixed(4)).join(' ')}`);
    console.log(`mean of the first 5: ${first.toFixed(4)}, of the last 5: ${last.toFixed(4)}`);
    expect(last).toBeLessThan(first);
  });

  it('(c) adapter_config.json and head_config.json have the Python keys', () => {
    const json = (name: string) => JSON.parse(new TextDecoder().decode(files!.get(`sst2/${name}`))) as Record<string, unknown>;
    const adapter = json('adapter_config.json');
    expect(Object.keys(adapter).sort()).toEqual(['config', 'hidden_size', 'model_class', 'model_name', 'model_type', 'name', 'version']);
    expect(adapter).toMatchObject({ name: 'sst2', model_type: 'bert', model_class: 'BertAdapterModel', hidden_size: 384 });
    expect(adapter.config).toMatchObject({ architecture: 'lora', r: 8, alpha: 8, selfattn_lora: true, attn_matrices: ['q', 'v'], leave_out: [0, 1, 2, 3] });
    const head = json('head_config.json');
    expect(Object.keys(head).sort()).toEqual(['config', 'hidden_size', 'model_class', 'model_name', 'model_type', 'name', 'version']);
    expect(head.config).toMatchObject({ head_type: 'classification', num_labels: 2, layers: 2, label2id: { negative: 0, positive: 1 } });
  });

  it(`(b) the files load in Node (cpu-ref) and give the browser's logits within ${TOL} · max(1, |logit|)`, async () => {
    t0 = performance.now();
    const dir = join(tmp, 'sst2');
    mkdirSync(dir, { recursive: true });
    for (const [name, bytes] of files!) writeFileSync(join(tmp, name), bytes); // sst2/<file>
    setBackend('cpu-ref');
    const model = await AutoAdapterModel.fromPretrained(MODEL, { backend: 'cpu-ref', onWarning: () => {} });
    expect(await model.loadAdapter(dir, { setActive: true })).toBe('sst2');
    const tokenizer = model.tokenizer as HfTokenizer;
    let worst = 0;
    for (const s of state!.evalLogits!) {
      const { ids } = tokenizer.encode(s.text);
      expect(ids, 'Node and the browser tokenize alike').toEqual(s.ids);
      const logits = noGrad(() => tidy(() => model.forward({ inputIds: tensor(Int32Array.from(ids), [1, ids.length], { dtype: 'i32' }) }).logits!));
      const node = Array.from(await logits.data());
      logits.dispose();
      const diff = Math.max(...node.map((v, i) => Math.abs(v - s.logits[i]!) / Math.max(1, Math.abs(v))));
      worst = Math.max(worst, diff);
      console.log(`  browser [${s.logits.map((v) => v.toFixed(6)).join(', ')}] node [${node.map((v) => v.toFixed(6)).join(', ')}] |Δ|/max(1,|x|) ${diff.toExponential(2)}  "${s.text}"`);
    }
    model.dispose();
    lap('node check');
    console.log(`max |Δ|/max(1,|logit|) browser vs Node: ${worst.toExponential(2)} (tolerance ${TOL})`);
    expect(worst).toBeLessThanOrEqual(TOL);
  });
});
