/**
 * The page: runs the pipeline of run.ts with the query string's settings,
 * shows progress and the loss curve, and offers the adapter as a .zip.
 * Its state is on `window.__adapterkit` for automation (test/browser.test.ts).
 */
import { DEFAULTS, parseParams, type RunParams } from './params.js';
import { drawLoss } from './plot.js';
import { DEMO_SENTENCES, LABELS, TASK, evaluate, load, sentenceLogits, setup, startWebGpu, train, type SentenceLogits } from './run.js';
import { zipStore } from './zip.js';

/** What the page exposes for automation. */
export interface PageState {
  status: 'starting' | 'loading' | 'training' | 'evaluating' | 'saving' | 'done' | 'error';
  error?: string;
  params?: RunParams;
  gpu?: string;
  trainableParameters?: number;
  step: number;
  losses: number[];
  accuracy?: number;
  evalCount?: number;
  /** Logits of DEMO_SENTENCES after training, each sentence alone (batch of one). */
  evalLogits?: SentenceLogits[];
  /** Files in the download, with sizes. */
  files?: { name: string; bytes: number }[];
  /** Seconds per phase. */
  timings: Record<string, number>;
}

const state: PageState = { status: 'starting', step: 0, losses: [], timings: {} };
(window as unknown as { __adapterkit: PageState }).__adapterkit = state;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const canvas = $<HTMLCanvasElement>('loss');

function setStatus(s: PageState['status'], text: string): void {
  state.status = s;
  const el = $('status');
  el.textContent = text;
  el.className = s === 'error' ? 'error' : '';
}

function facts(rows: [string, string][]): void {
  $('facts').innerHTML = rows.map(([k, v]) => `<tr><th>${k}</th><td>${escape(v)}</td></tr>`).join('');
}

function escape(s: string): string {
  return s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The settings form: submitting it reloads the page with the new query string. */
function settingsForm(p: RunParams): void {
  const fields = Object.keys(DEFAULTS) as (keyof RunParams)[];
  $('settings').innerHTML = fields.map((k) => `<label>${k}<input name="${k}" value="${escape(String(p[k]))}"></label>`).join('') + '<button>Run again</button>';
}

async function timed<T>(phase: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    state.timings[phase] = Number(((performance.now() - t0) / 1000).toFixed(2));
  }
}

async function main(): Promise<void> {
  const p = parseParams(location.search);
  state.params = p;
  settingsForm(p);
  setStatus('loading', 'Looking for a WebGPU adapter…');
  state.gpu = await timed('webgpu', startWebGpu);
  setStatus('loading', 'Loading all-MiniLM-L6-v2 and SST-2…');
  const { model, tokenizer, train: trainSet, dev, modelBytes } = await timed('load', () => load(p));
  state.trainableParameters = setup(model, p).trainable;
  facts([
    ['GPU', state.gpu],
    ['model', `all-MiniLM-L6-v2, ${(modelBytes / 2 ** 20).toFixed(1)} MiB (F16 on disk, f32 on the GPU), frozen`],
    ['adapter', `${p.adapter} + 2-layer head: ${state.trainableParameters.toLocaleString()} trainable parameters`],
    ['data', `${trainSet.length} SST-2 training phrases, ${dev.length} dev sentences, ≤ ${p.maxLen} tokens`],
    ['training', `${p.steps} steps of ${p.batch}, lr ${p.lr} (warmup ${p.warmup}, linear decay), seed ${p.seed}`],
  ]);

  setStatus('training', 'Training…');
  const t0 = performance.now();
  let lastDraw = 0;
  await timed('train', () => train(model, tokenizer, trainSet, p, (step, loss, lr) => {
    state.step = step;
    state.losses.push(loss);
    const now = performance.now();
    if (now - lastDraw > 100 || step === p.steps) {
      lastDraw = now;
      drawLoss(canvas, state.losses, p.steps);
      const perStep = (now - t0) / 1000 / step;
      $('stepline').textContent = `step ${step}/${p.steps} · loss ${loss.toFixed(4)} · lr ${lr.toExponential(2)} · ${perStep.toFixed(2)} s/step · about ${Math.round(perStep * (p.steps - step))} s left`;
      setStatus('training', `Training: step ${step} of ${p.steps}`);
    }
  }));

  setStatus('evaluating', `Evaluating on ${dev.length} dev sentences…`);
  state.accuracy = await timed('eval', () => evaluate(model, tokenizer, dev, p, (done) => setStatus('evaluating', `Evaluating: ${done} / ${dev.length}`)));
  state.evalCount = dev.length;
  state.evalLogits = await sentenceLogits(model, tokenizer, DEMO_SENTENCES);
  $('demo').innerHTML = state.evalLogits.map((s) => {
    const best = s.probabilities[1]! > s.probabilities[0]! ? 1 : 0;
    return `<tr><td>${LABELS[best]} (${(s.probabilities[best]! * 100).toFixed(1)}%)</td><td>${escape(s.text)}</td></tr>`;
  }).join('');

  setStatus('saving', 'Writing the adapter files…');
  // The bytes core's saveAdapter writes (adapter + head of the same name), in a folder named after the adapter.
  const files = await timed('save', () => model.adapterFiles(TASK));
  state.files = [...files].map(([name, b]) => ({ name, bytes: b.length }));
  const zip = zipStore(new Map([...files].map(([name, b]) => [`${TASK}/${name}`, b])));
  const link = $<HTMLAnchorElement>('download');
  link.href = URL.createObjectURL(new Blob([zip], { type: 'application/zip' }));
  link.download = `${TASK}-adapter.zip`;
  link.hidden = false;
  $('files').textContent = `${TASK}/: ${state.files.map((f) => `${f.name} (${f.bytes.toLocaleString()} B)`).join(', ')} — load with model.loadAdapter(dir) here or model.load_adapter(dir, use_safetensors=True) in Python.`;
  const secs = Object.entries(state.timings).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ');
  setStatus('done', `Done: dev accuracy ${(state.accuracy * 100).toFixed(1)}% on ${dev.length} sentences (${secs}).`);
}

main().catch((e: unknown) => {
  state.error = e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e);
  setStatus('error', `Error: ${e instanceof Error ? e.message : String(e)}`);
  console.error(e);
});
