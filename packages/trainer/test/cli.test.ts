import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS, main } from '../src/cli/main.js';
import { registerMiniMethod } from './helpers/mini-method.js';
import { FIXTURES, TINY_BERT } from './helpers/tiny.js';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');
const tmp = mkdtempSync(join(tmpdir(), 'trainer-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (l) => (out += `${l}\n`), err: (l) => (err += `${l}\n`) });
  return { code, out, err };
}

describe('adapterkit CLI: help and usage errors', () => {
  it('lists the commands; no command is a usage error', async () => {
    const r = await cli();
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/train-glue[\s\S]*train-mlm[\s\S]*train-fusion/);
    expect((await cli('--help')).code).toBe(0);
    const bad = await cli('train-bert');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/unknown command 'train-bert'/);
  });

  it('--help lists every flag of each command', async () => {
    for (const c of COMMANDS) {
      const r = await cli(c.name, '--help');
      expect(r.code).toBe(0);
      for (const f of c.flags) expect(r.out, `${c.name} --${f.name}`).toContain(`--${f.name}`);
    }
    const glue = (await cli('train-glue', '--help')).out;
    for (const flag of ['model_name_or_path', 'task_name', 'train_file', 'validation_file', 'do_train', 'do_eval', 'max_seq_length', 'per_device_train_batch_size', 'learning_rate', 'num_train_epochs', 'max_steps', 'output_dir', 'overwrite_output_dir', 'train_adapter', 'adapter_config', 'load_adapter', 'seed', 'backend', 'max_train_samples', 'max_eval_samples']) {
      expect(glue).toContain(`--${flag}`);
    }
    expect(glue).toMatch(/--backend \{auto,cpu,cpu-ref,webgpu,cuda\}/);
  });

  it('unknown flags and bad values exit with code 2 and name the flag', async () => {
    const cases: [string[], RegExp][] = [
      [['--output_dir', 'o', '--learnin_rate', '1'], /unknown flag --learnin_rate; did you mean --learning_rate\?/],
      [['--output_dir', 'o', '--learning_rate', 'fast'], /--learning_rate: expected a number, got 'fast'/],
      [['--output_dir', 'o', '--seed', '1.5'], /--seed: expected an integer, got '1.5'/],
      [['--output_dir', 'o', '--backend', 'tpu'], /--backend: 'tpu' is not one of auto, cpu, cpu-ref, webgpu, cuda/],
      [['--output_dir', 'o', '--task_name', 'squad'], /--task_name: 'squad' is not one of/],
      [['--output_dir', 'o', '--learning_rate'], /--learning_rate/],
      [['--output_dir', 'o', 'extra'], /unexpected argument/],
      [['--do_train', '--train_adapter'], /--output_dir is required/],
      [['--output_dir', 'o', '--per_device_train_batch_size', '0', '--do_train'], /--per_device_train_batch_size: must be a positive integer, got 0/],
      [['--output_dir', 'o', '--warmup_ratio', '2'], /--warmup_ratio: must be in \[0, 1\)/],
      [['--output_dir', 'o', '--load_best_model_at_end', '--do_eval', '--save_strategy', 'steps'], /--load_best_model_at_end: needs saveStrategy equal to evalStrategy/],
      [['--output_dir', 'o', '--task_name', 'sst2'], /nothing to do: add --do_train and\/or --do_eval/],
      [['--output_dir', 'o', '--task_name', 'sst2', '--do_train'], /add --train_adapter/],
      [['--output_dir', 'o', '--max_train_samples', '0', '--do_train'], /--max_train_samples: must be a positive integer/],
    ];
    for (const [argv, re] of cases) {
      const r = await cli('train-glue', ...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toMatch(re);
    }
    const mlm = await cli('train-mlm', '--output_dir', 'o', '--mlm_probability', '1.5', '--do_train', '--train_adapter');
    expect(mlm.code).toBe(2);
    expect(mlm.err).toMatch(/--mlm_probability: must be in \(0, 1\)/);
  });

  it('train-fusion names a fusion adapter folder that does not exist; a single adapter is a usage error', async () => {
    const r = await cli('train-fusion', '--output_dir', join(tmp, 'f'), '--task_name', 'rte', '--fusion_adapters', 'a,b', '--do_train');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/a\/adapter_config\.json not found/);
    const usage = await cli('train-fusion', '--output_dir', 'o', '--task_name', 'rte', '--fusion_adapters', 'a', '--do_train');
    expect(usage.code).toBe(2);
  });

  it('the process exits with code 2 on a bad flag (tsx on the source; and the built bin when present)', () => {
    const src = spawnSync(process.execPath, ['--import', 'tsx', join(pkg, 'src', 'cli', 'main.ts'), 'train-glue', '--bogus'], { encoding: 'utf8', cwd: pkg });
    expect(src.status).toBe(2);
    expect(src.stderr).toMatch(/unknown flag --bogus/);
    const bin = join(pkg, 'dist', 'cli.js');
    if (existsSync(bin)) {
      const built = spawnSync(process.execPath, [bin, 'train-mlm', '--help'], { encoding: 'utf8' });
      expect(built.status).toBe(0);
      expect(built.stdout).toContain('--line_by_line');
    }
  });
});

describe('adapterkit train-glue: a short run on the tiny model', () => {
  it('trains, evaluates, writes results, adapters, log and curves; a second call resumes from the checkpoint', async () => {
    registerMiniMethod();
    const out = join(tmp, 'glue');
    const argv = [
      'train-glue', '--model_name_or_path', TINY_BERT, '--task_name', 'sst2',
      '--train_file', join(FIXTURES, 'sst2-train-64.tsv'), '--validation_file', join(FIXTURES, 'sst2-dev-32.tsv'),
      '--do_train', '--do_eval', '--train_adapter', '--adapter_config', 'test_bn', '--max_seq_length', '32',
      '--per_device_train_batch_size', '16', '--learning_rate', '3e-3', '--max_steps', '6', '--save_steps', '3',
      '--logging_steps', '2', '--backend', 'cpu-ref', '--output_dir', out, '--seed', '3', '--disable_tqdm',
    ];
    const r = await cli(...argv);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/eval_accuracy/);
    const files = readdirSync(out).sort();
    expect(files).toEqual(expect.arrayContaining(['all_results.json', 'checkpoint-3', 'checkpoint-6', 'eval_results.json', 'log.jsonl', 'sst2', 'train_results.json', 'training_args.json', 'training_curves.svg']));
    expect(readdirSync(join(out, 'sst2')).sort()).toEqual(['adapter.safetensors', 'adapter_config.json', 'head_config.json', 'model_head.safetensors']);
    const evalRes = JSON.parse(readFileSync(join(out, 'eval_results.json'), 'utf8'));
    expect(evalRes.eval_samples).toBe(32);
    expect(evalRes.eval_accuracy).toBeGreaterThanOrEqual(0);
    // Same output folder again: run_glue.py's rule resumes from the last checkpoint (already at max_steps).
    const again = await cli(...argv);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/checkpoint detected, resuming training at .*checkpoint-6/);
    // A non-empty folder without checkpoints is refused unless --overwrite_output_dir.
    const other = join(tmp, 'other');
    await cli(...argv.map((a) => (a === out ? other : a)), '--save_strategy', 'no');
    const refused = await cli(...argv.map((a) => (a === out ? other : a)));
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/already exists and is not empty; use --overwrite_output_dir/);
  });
});
