import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AutoAdapterModel, adapterFiles, dispose, headFiles, noGrad, saveAdapter, setBackend, tensor, tidy, type AdapterModel,
} from '../src/index.js';
import { registerScaleMethod } from './scale-method.js';
import { HfTokenizer } from '../src/tokenizers/hf-tokenizer.js';
import { TEST_BACKEND } from '../../test-utils/src/backend-under-test.js';

/**
 * adapterFiles / headFiles (the in-memory files of saveAdapter / saveHead,
 * for browsers) and AutoAdapterModel.fromFiles (fromPretrained from bytes).
 * The method is a minimal one (a learned scalar per residual site), as in
 * adapters-host.test.ts: real methods live in their own packages.
 */
registerScaleMethod('files_scale', 'FilesScaleConfig', { init: 0.5 });

const FIXTURE = fileURLToPath(new URL('./fixtures/bert/bert/', import.meta.url));
const TOKENIZER = fileURLToPath(new URL('./fixtures/tokenizer/', import.meta.url));
const silent = { onWarning: () => {} };
const tmp = mkdtempSync(join(tmpdir(), 'adapter-files-'));
beforeAll(() => setBackend(TEST_BACKEND));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The fixture BERT with adapter 't' (init 0.25) and a 3-label classification head 't'. */
async function modelWithAdapter(): Promise<AdapterModel> {
  const m = await AutoAdapterModel.fromPretrained(FIXTURE, silent);
  m.addAdapter('t', 'files_scale[init=0.25]');
  m.addClassificationHead('t', { numLabels: 3, idToLabel: ['a', 'b', 'c'] });
  m.setActiveAdapters('t');
  return m;
}

/** Every file of `dir`, by name. */
function filesOf(dir: string): Map<string, Uint8Array> {
  return new Map(readdirSync(dir).sort().map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]));
}

function sorted(files: Map<string, Uint8Array>): Map<string, Uint8Array> {
  return new Map([...files].sort(([a], [b]) => a.localeCompare(b)));
}

describe('adapterFiles', () => {
  it('returns exactly the bytes saveAdapter writes: adapter and head files in the Python layout', async () => {
    const m = await modelWithAdapter();
    const files = await m.adapterFiles('t');
    expect([...files.keys()]).toEqual(['adapter.safetensors', 'adapter_config.json', 'head_config.json', 'model_head.safetensors']);
    const dir = join(tmp, 'model-level');
    await m.saveAdapter(dir, 't');
    expect(filesOf(dir)).toEqual(sorted(files));

    // The host-level function and saveAdapter(host, …): the adapter's two files only.
    const hostFiles = await adapterFiles(m.adapterHost, 't', { metaDict: { config_id: 'abc' } });
    const hostDir = join(tmp, 'host-level');
    await saveAdapter(m.adapterHost, hostDir, 't', { metaDict: { config_id: 'abc' } });
    expect(filesOf(hostDir)).toEqual(sorted(hostFiles));
    expect(hostFiles.get('adapter.safetensors')).toEqual(files.get('adapter.safetensors'));

    const config = JSON.parse(new TextDecoder().decode(hostFiles.get('adapter_config.json'))) as Record<string, unknown>;
    expect(Object.keys(config)).toEqual(['config', 'config_id', 'hidden_size', 'model_class', 'model_name', 'model_type', 'name', 'version']);
    expect(config).toMatchObject({ config: { architecture: 'files_scale', init: 0.25 }, config_id: 'abc', model_type: 'bert', name: 't' });
    // Python's json.dump(indent=2, sort_keys=True) layout, float fields as floats.
    expect(new TextDecoder().decode(hostFiles.get('adapter_config.json'))).toMatch(/^\{\n {2}"config": \{\n {4}"architecture": "files_scale",\n {4}"init": 0.25\n {2}\},\n/);

    // The head's files are headFiles' (and saveHead's).
    const head = await headFiles(m, 't');
    expect(head.get('head_config.json')).toEqual(files.get('head_config.json'));
    expect(head.get('model_head.safetensors')).toEqual(files.get('model_head.safetensors'));
    const headDir = join(tmp, 'head-only');
    await m.saveHead(headDir, 't');
    expect(filesOf(headDir)).toEqual(sorted(head));

    expect([...(await m.adapterFiles('t', { withHead: false })).keys()]).toEqual(['adapter.safetensors', 'adapter_config.json']);
    await expect(m.adapterFiles('nope')).rejects.toThrow(/no adapter named 'nope'/);
    m.dispose();
  });

  it('saved files load back into a fresh model with equal outputs', async () => {
    const m = await modelWithAdapter();
    const dir = join(tmp, 'roundtrip');
    await m.saveAdapter(dir, 't');
    const ids = tensor(new Int32Array([2, 5, 7, 9, 3, 4, 6, 1]), [2, 4], { dtype: 'i32' });
    const m2 = await AutoAdapterModel.fromPretrained(FIXTURE, silent);
    await m2.loadAdapter(dir, { setActive: true });
    const [a, b] = noGrad(() => tidy(() => [m.forward({ inputIds: ids }).logits, m2.forward({ inputIds: ids }).logits]));
    expect(Array.from(await b!.data())).toEqual(Array.from(await a!.data()));
    dispose([a, b, ids]);
    m.dispose();
    m2.dispose();
  });
});

describe('AutoAdapterModel.fromFiles', () => {
  it('loads the same model from bytes in memory as fromPretrained from the directory', async () => {
    const fromDir = await AutoAdapterModel.fromPretrained(FIXTURE, silent);
    const fromMem = await AutoAdapterModel.fromFiles({
      config: new Uint8Array(readFileSync(join(FIXTURE, 'config.json'))),
      weights: new Uint8Array(readFileSync(join(FIXTURE, 'model.safetensors'))),
      tokenizer: readFileSync(join(TOKENIZER, 'tokenizer.json'), 'utf8'),
      tokenizerConfig: JSON.parse(readFileSync(join(TOKENIZER, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>,
      source: 'fixture',
    }, silent);
    const a = fromDir.stateDict();
    const b = fromMem.stateDict();
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [k, t] of a) expect(Array.from(await b.get(k)!.data()), k).toEqual(Array.from(await t.data()));
    expect(fromMem.loadReport).toMatchObject({ source: 'fixture', loaded: fromDir.loadReport.loaded });
    const fileTokenizer = await HfTokenizer.fromFile(join(TOKENIZER, 'tokenizer.json'));
    expect(fromMem.tokenizer?.encode('Hello, world!')).toEqual(fileTokenizer.encode('Hello, world!'));
    expect(fromDir.tokenizer).toBeUndefined();
    fromDir.dispose();
    fromMem.dispose();
  });

  it('names the source in errors', async () => {
    await expect(AutoAdapterModel.fromFiles({ config: '{"model_type": ', weights: new Uint8Array(8), source: 'x' })).rejects.toThrow(/x: config.json is not valid JSON/);
  });
});
