import { AutoAdapterModel, Fuse, type AdapterModel } from '@adapterkit/core';
import { selectBackend } from '../backend/select.js';
import { paddingCollator } from '../data/collator.js';
import { tokenizeExamples, type TokenizerLike } from '../data/features.js';
import { glueTask, loadGlueSplit } from '../data/glue.js';
import { glueComputeMetrics } from '../metrics/glue-metrics.js';
import { AdapterTrainer } from '../trainer/adapter-trainer.js';
import type { Command } from './command.js';
import { checkDataFlags, dataDirOf, defaultModelPath, loadPlugins, printMetrics, resumePoint, trainingArgumentsFromFlags, writeResults, type CliIo } from './common.js';
import { UsageError, type FlagSpec, type FlagValues } from './flags.js';
import { GLUE_FLAGS } from './train-glue.js';

/** Flags of `adapterkit train-fusion` (run_fusion_glue.py): the GLUE flags plus the adapters to fuse. */
export const FUSION_FLAGS: FlagSpec[] = [
  { name: 'fusion_adapters', type: 'string', group: 'adapters', help: 'comma-separated saved adapter folders to fuse (required)' },
  { name: 'fusion_config', type: 'string', group: 'adapters', help: 'AdapterFusion config', default: 'dynamic' },
  ...GLUE_FLAGS.filter((f) => !['train_adapter', 'load_adapter', 'load_lang_adapter', 'lang_adapter_config', 'adapter_config'].includes(f.name)),
];

const DESCRIPTION = `Trains AdapterFusion over pre-trained adapters on a GLUE task, like adapters' run_fusion_glue.py:
the adapters are loaded and frozen, a fusion layer and a classification head are trained.
Needs @adapterkit/composition (AdapterFusion).
Example: adapterkit train-fusion --task_name rte --fusion_adapters out/mnli/mnli,out/sst2/sst2 --do_train --do_eval --output_dir out/fusion`;

async function trainFusion(f: FlagValues, io: CliIo): Promise<number> {
  checkDataFlags(f);
  const args = trainingArgumentsFromFlags(f);
  if (typeof f.fusion_adapters !== 'string' || f.fusion_adapters.split(',').filter(Boolean).length < 2) throw new UsageError('--fusion_adapters: give at least two adapter folders, comma-separated');
  if (typeof f.task_name !== 'string') throw new UsageError('--task_name is required for train-fusion');
  if (!f.do_train && !f.do_eval) throw new UsageError('nothing to do: add --do_train and/or --do_eval');
  const missing = await loadPlugins();
  const composition = missing.find((m) => m.startsWith('@adapterkit/composition'));
  if (composition) {
    io.err(`train-fusion needs @adapterkit/composition (AdapterFusion), which is not available yet: ${composition}`);
    return 1;
  }
  const resume = await resumePoint(f, io);
  const backend = await selectBackend(f.backend as string);
  if (backend.note) io.out(backend.note);
  const task = glueTask(f.task_name);
  const dir = dataDirOf(f);
  const modelPath = (f.model_name_or_path as string | undefined) ?? (await defaultModelPath());
  const model = (await AutoAdapterModel.fromPretrained(modelPath, { backend: backend.name, onWarning: (m) => io.err(m) })) as AdapterModel;
  const tokenizer = model.tokenizer as TokenizerLike;
  const names: string[] = [];
  for (const path of (f.fusion_adapters as string).split(',').filter(Boolean)) names.push(await model.loadAdapter(path, { withHead: false }));
  const fuse = new Fuse(...names);
  model.addAdapterFusion(fuse, f.fusion_config as string);
  model.addClassificationHead(task.name, { numLabels: task.isRegression ? 1 : task.labels.length, idToLabel: task.isRegression ? undefined : [...task.labels], overwriteOk: true });
  model.trainAdapterFusion(fuse);
  model.activeHead = task.name;
  const maxLen = f.max_seq_length as number;
  const train = f.do_train ? await loadGlueSplit(task.name, 'train', dir, f.max_train_samples as number | undefined) : undefined;
  const evalSet = f.do_eval ? await loadGlueSplit(task.name, 'validation', dir, f.max_eval_samples as number | undefined) : undefined;
  const trainer = new AdapterTrainer({
    model,
    args,
    trainDataset: train && tokenizeExamples(tokenizer, train, { maxSeqLength: maxLen }),
    evalDataset: evalSet && tokenizeExamples(tokenizer, evalSet, { maxSeqLength: maxLen }),
    dataCollator: paddingCollator({ padTokenId: tokenizer.padTokenId ?? 0, regression: task.isRegression }),
    computeMetrics: glueComputeMetrics(task),
    print: io.out,
  });
  if (f.do_train) {
    const r = await trainer.train({ resumeFromCheckpoint: resume });
    await trainer.saveModel();
    printMetrics(io, 'train', r.metrics);
    await writeResults(args.outputDir, 'train_results', r.metrics);
  }
  if (f.do_eval) {
    const m = await trainer.evaluate();
    printMetrics(io, 'eval', m);
    await writeResults(args.outputDir, 'eval_results', m);
  }
  return 0;
}

/** `adapterkit train-fusion` (run_fusion_glue.py). */
export const trainFusionCommand: Command = {
  name: 'train-fusion',
  summary: 'train AdapterFusion over saved adapters on a GLUE task (run_fusion_glue.py; needs @adapterkit/composition)',
  description: DESCRIPTION,
  flags: FUSION_FLAGS,
  run: trainFusion,
};
