import {
  AdamW,
  backward,
  manualSeed,
  mul,
  tidy,
  type AdapterHost,
  type AdapterSetup,
  type LrSchedule,
  type Parameter,
  type Tensor,
} from '@adapterkit/core';
import { evalMetricKey, trainingArguments, trainingArgumentsToJson, warmupStepsFor, type TrainingArguments } from '../args/training-arguments.js';
import { disposeBatch, type DataCollator } from '../data/batch.js';
import { paddingCollator } from '../data/collator.js';
import type { Feature, TokenizerLike } from '../data/features.js';
import { batchSeed, batchesOf, epochOrder } from '../data/sampler.js';
import { JsonlLog, writeTextAtomic } from '../logging/jsonl-log.js';
import { createProgress, type Progress } from '../logging/progress.js';
import { curvesFromLog, renderCurvesSvg } from '../logging/svg-curve.js';
import type { ComputeMetrics } from '../metrics/glue-metrics.js';
import { fusionRegularizationLoss, requireAdapterHost, setupTrainsFusion } from '../model/access.js';
import type { TrainableModel } from '../model/types.js';
import { EarlyStoppingCallback, isBetter, newControl, type CallbackContext, type TrainerCallback } from './callbacks.js';
import { applyRng, readStateFiles, writeStateFiles, type SchedulerState } from './checkpoint-files.js';
import { lastCheckpoint, removeStaleTemporaries, rotateCheckpoints, writeCheckpointDir } from './checkpoint-dir.js';
import { NonFiniteError } from './errors.js';
import { evaluateModel } from './evaluate.js';
import { clipGradients, gradNorm } from './grad-norm.js';
import { loadOptimizerState, saveOptimizerState } from './optimizer-state.js';
import { trainerParamGroups } from './param-groups.js';
import { createSchedule } from './schedule.js';
import { newTrainerState, type TrainerState } from './state.js';
import { loadAdapterWeights, saveAdapterWeights } from './weights.js';

/** Options of `new AdapterTrainer(...)` (HF Trainer's arguments, camelCase). */
export interface AdapterTrainerOptions<F = Feature> {
  /** The model: an AdapterModel (or any model with an adapter host) with an active head. */
  model: TrainableModel;
  /** Training arguments (validated and completed with defaults). */
  args: Partial<TrainingArguments> & { outputDir: string };
  trainDataset?: readonly F[];
  evalDataset?: readonly F[];
  /** Turns features into batches (default: dynamic padding with the tokenizer's pad id). */
  dataCollator?: DataCollator<F>;
  /** Used for the default collator's pad id. */
  tokenizer?: TokenizerLike;
  /** Metrics from evaluation logits and labels (e.g. glueComputeMetrics(task)). */
  computeMetrics?: ComputeMetrics;
  callbacks?: TrainerCallback[];
  /** Activate this setup first (Python adapter_names). */
  adapterNames?: AdapterSetup;
  /** Where log lines go (default console.log). */
  print?: (line: string) => void;
}

/** Options of `train`. */
export interface TrainOptions {
  /** A checkpoint folder to resume from, or true for the newest one in outputDir. */
  resumeFromCheckpoint?: string | boolean;
}

/** What `train` returns (HF TrainOutput). */
export interface TrainOutput {
  globalStep: number;
  /** Mean training loss over all steps run (this session and, when resumed, before). */
  trainingLoss: number;
  metrics: Record<string, number>;
}

function lengthOf(f: unknown): number {
  const ids = (f as { inputIds?: ArrayLike<number> }).inputIds;
  return ids ? ids.length : 0;
}

/**
 * Trains adapters (and heads) as Python's `AdapterTrainer`: AdamW over the
 * trainable parameters in HF's two weight-decay groups, a linear / cosine /
 * constant schedule with warmup, gradient accumulation, gradient clipping,
 * evaluation and checkpoints by epoch or steps, best-model tracking,
 * callbacks (early stopping), and checkpoints that hold only adapter,
 * fusion and head weights in the Python layout plus the optimizer,
 * scheduler and random state, written atomically, so `train({
 * resumeFromCheckpoint })` continues exactly (bit for bit on CPU backends).
 *
 * Like Python it refuses a model without an active adapter setup (full
 * fine-tuning needs a plain training loop) and, when training starts, a
 * model whose base is not frozen (call `trainAdapter(name)` first).
 */
export class AdapterTrainer<F = Feature> {
  readonly args: TrainingArguments;
  readonly model: TrainableModel;
  readonly host: AdapterHost;
  readonly callbacks: TrainerCallback[];
  trainDataset?: readonly F[];
  evalDataset?: readonly F[];
  readonly dataCollator: DataCollator<F>;
  readonly computeMetrics?: ComputeMetrics;
  /** Whether AdapterFusion layers are being trained (fusion weights are then checkpointed). */
  readonly trainAdapterFusion: boolean;
  state: TrainerState;
  optimizer?: AdamW;
  schedule?: LrSchedule;
  /** Trainable parameters in optimizer order (decay group, then no-decay group). */
  private trainable: [string, Parameter][] = [];
  /** The same in model order (error messages name the first offending one in this order). */
  private inModelOrder: [string, Parameter][] = [];
  private readonly print: (line: string) => void;
  private control = newControl();
  private log?: JsonlLog;
  private progress?: Progress;
  private lastEvalMetrics: { step: number; metrics: Record<string, number> } | undefined;

  constructor(opts: AdapterTrainerOptions<F>) {
    this.args = trainingArguments(opts.args);
    this.model = opts.model;
    this.host = requireAdapterHost(opts.model, 'AdapterTrainer');
    if (opts.adapterNames !== undefined) this.host.setActiveAdapters(opts.adapterNames);
    if (this.host.activeAdapters === null) {
      throw new Error('AdapterTrainer: the model has no active adapter setup (call trainAdapter(name) or setActiveAdapters); to fine-tune the full model, use a plain training loop instead');
    }
    this.trainAdapterFusion = this.host.modelFrozen && setupTrainsFusion(this.host.activeAdapters);
    this.trainDataset = opts.trainDataset;
    this.evalDataset = opts.evalDataset;
    this.dataCollator = opts.dataCollator ?? (paddingCollator({ padTokenId: opts.tokenizer?.padTokenId ?? 0 }) as unknown as DataCollator<F>);
    this.computeMetrics = opts.computeMetrics;
    this.print = opts.print ?? ((l) => console.log(l));
    this.callbacks = [adapterTrainerChecks(this), ...(opts.callbacks ?? [])];
    if (this.args.earlyStoppingPatience !== undefined && !this.callbacks.some((c) => c instanceof EarlyStoppingCallback)) {
      this.callbacks.push(new EarlyStoppingCallback(this.args.earlyStoppingPatience, this.args.earlyStoppingThreshold));
    }
    const backend = this.args.backend;
    const first = this.model.parameters()[0];
    if (backend && first && first.backend.name !== backend) {
      throw new Error(`AdapterTrainer: args.backend is '${backend}' but the model's parameters are on '${first.backend.name}'; load the model after selecting the backend (selectBackend('${backend}'))`);
    }
    this.state = newTrainerState({ maxSteps: 0, numTrainEpochs: 0, trainBatchSize: this.args.perDeviceTrainBatchSize, loggingSteps: this.args.loggingSteps, evalSteps: this.args.evalSteps ?? null, saveSteps: this.args.saveSteps });
  }

  /** The backend name batches are created on (the model's). */
  private get backendName(): string | undefined {
    return this.model.parameters()[0]?.backend.name;
  }

  private ctx(): CallbackContext {
    return { args: this.args, state: this.state, control: this.control, trainer: this };
  }

  private async fire<K extends keyof TrainerCallback>(event: K, ...extra: unknown[]): Promise<void> {
    for (const cb of this.callbacks) {
      const fn = cb[event] as ((ctx: CallbackContext, ...a: unknown[]) => void | Promise<void>) | undefined;
      if (typeof fn === 'function') await fn.call(cb, this.ctx(), ...extra);
    }
  }

  /**
   * Builds AdamW over the trainable parameters in two groups — weight decay
   * for weights, none for biases and norm weights (HF) — and the schedule.
   */
  createOptimizerAndSchedule(totalSteps: number): void {
    const groups = trainerParamGroups(this.model);
    this.trainable = [...groups.decay, ...groups.noDecay];
    this.inModelOrder = this.model.namedParameters().filter(([, p]) => p.requiresGrad);
    if (this.trainable.length === 0) throw new Error('AdapterTrainer: the model has no trainable parameters (did trainAdapter run?)');
    const a = this.args;
    const input = [
      ...(groups.decay.length ? [{ params: groups.decay.map(([, p]) => p), weightDecay: a.weightDecay }] : []),
      ...(groups.noDecay.length ? [{ params: groups.noDecay.map(([, p]) => p), weightDecay: 0 }] : []),
    ];
    this.optimizer?.dispose();
    this.optimizer = new AdamW(input, { lr: a.learningRate, betas: [a.adamBeta1, a.adamBeta2], eps: a.adamEpsilon });
    this.schedule = createSchedule(a.lrSchedulerType, a.learningRate, warmupStepsFor(a, totalSteps), totalSteps);
  }

  /** Names of the trainable parameters in optimizer order. */
  get trainableParameterNames(): string[] {
    return this.trainable.map(([n]) => n);
  }

  /**
   * Runs training. Returns the step count, mean loss and timing metrics.
   * Throws NonFiniteError (naming the step and the first parameter with a
   * non-finite gradient) when the loss or a gradient is NaN/Inf.
   */
  async train(opts: TrainOptions = {}): Promise<TrainOutput> {
    const a = this.args;
    const data = this.trainDataset;
    if (!data || data.length === 0) throw new Error('AdapterTrainer.train: no training data (trainDataset is empty or missing)');
    if (!this.host.modelFrozen) {
      throw new Error('AdapterTrainer: the pre-trained model weights are not frozen; for training adapters, call model.trainAdapter(name) first');
    }
    const { mkdir } = await import('node:fs/promises');
    await mkdir(a.outputDir, { recursive: true });
    await removeStaleTemporaries(a.outputDir);
    let resumeDir: string | undefined;
    if (opts.resumeFromCheckpoint === true) {
      resumeDir = await lastCheckpoint(a.outputDir);
      if (!resumeDir) throw new Error(`resumeFromCheckpoint: no checkpoint-<step> folder in ${a.outputDir}`);
    } else if (typeof opts.resumeFromCheckpoint === 'string') resumeDir = opts.resumeFromCheckpoint;

    const bs = a.perDeviceTrainBatchSize;
    const batchesPerEpoch = a.dataloaderDropLast ? Math.floor(data.length / bs) : Math.ceil(data.length / bs);
    if (batchesPerEpoch === 0) throw new Error(`AdapterTrainer.train: ${data.length} examples make no full batch of ${bs} (dataloaderDropLast is on)`);
    const ga = a.gradientAccumulationSteps;
    const updatesPerEpoch = Math.ceil(batchesPerEpoch / ga);
    const maxSteps = a.maxSteps > 0 ? a.maxSteps : Math.ceil(a.numTrainEpochs * updatesPerEpoch);
    const numEpochs = Math.ceil(maxSteps / updatesPerEpoch);
    this.createOptimizerAndSchedule(maxSteps);
    this.state = newTrainerState({ maxSteps, numTrainEpochs: numEpochs, trainBatchSize: bs, loggingSteps: a.loggingSteps, evalSteps: a.evalSteps ?? null, saveSteps: a.saveSteps });
    this.control = newControl();

    if (resumeDir) await this.loadCheckpoint(resumeDir, { maxSteps, warmup: this.schedule!.warmupSteps });
    else manualSeed(a.seed);
    // Taken after a resume, which rebuilds the optimizer over the restored parameters.
    const optimizer = this.optimizer!;
    const schedule = this.schedule!;
    const startStep = this.state.globalStep;

    this.log = await JsonlLog.open(a.outputDir, resumeDir ? { truncateAfterStep: startStep } : { fresh: true });
    this.progress = createProgress({ disabled: a.disableProgressBar, print: this.print });
    const lengths = a.groupByLength ? data.map(lengthOf) : undefined;
    const start = performance.now();
    let lossSum = 0;
    let lossSteps = 0;
    let windowLoss = 0;
    let windowSteps = 0;
    let windowExamples = 0;
    let windowStart = performance.now();
    let examplesSeen = 0;
    let emaRate: number | undefined;
    this.model.train();
    try {
      await this.fire('onTrainBegin');
      if (resumeDir) this.print(`resuming from ${resumeDir} at step ${startStep} (epoch ${this.state.epoch.toFixed(2)})`);
      let stop = this.state.globalStep >= maxSteps;
      for (let epoch = Math.floor(startStep / updatesPerEpoch); epoch < numEpochs && !stop; epoch++) {
        const order = epochOrder(data.length, { seed: a.seed, epoch, lengths, chunkSize: 50 * bs });
        const batches = batchesOf(order, bs, a.dataloaderDropLast);
        this.control.shouldEpochStop = false;
        await this.fire('onEpochBegin');
        const firstUpdate = epoch === Math.floor(startStep / updatesPerEpoch) ? startStep % updatesPerEpoch : 0;
        for (let u = firstUpdate; u < updatesPerEpoch && this.state.globalStep < maxSteps; u++) {
          const t0 = performance.now();
          const group = batches.slice(u * ga, (u + 1) * ga);
          const groupExamples = group.reduce((n, b) => n + b.length, 0);
          await this.fire('onStepBegin');
          let stepLoss = 0;
          let badLoss: number | undefined;
          for (let gi = 0; gi < group.length; gi++) {
            const idx = group[gi]!;
            const batch = this.dataCollator(idx.map((i) => data[i]!), { seed: batchSeed(a.seed, epoch, u * ga + gi), backend: this.backendName });
            let lossT: Tensor | undefined;
            try {
              // Each micro-batch's mean loss is weighted by its share of the step's examples, so accumulating k batches equals one batch k times larger.
              lossT = tidy(() => {
                const out = this.model.forward(batch.inputs);
                if (!out.loss) throw new Error('AdapterTrainer: the model returned no loss; give labels and make sure the model has an active head');
                backward(mul(out.loss, batch.size / groupExamples));
                return out.loss;
              });
              const v = (await lossT.data())[0]!;
              if (!Number.isFinite(v) && badLoss === undefined) badLoss = v;
              stepLoss += (v * batch.size) / groupExamples;
            } finally {
              lossT?.dispose();
              disposeBatch(batch);
            }
          }
          const step = this.state.globalStep + 1;
          this.addFusionRegularization();
          const norm = await gradNorm(this.inModelOrder);
          if (badLoss !== undefined || norm.firstNonFinite !== undefined || !Number.isFinite(norm.total)) {
            optimizer.zeroGrad();
            throw new NonFiniteError(step, badLoss, norm.firstNonFinite, epoch + u / updatesPerEpoch);
          }
          if (a.maxGradNorm > 0) clipGradients(this.trainable, norm.total, a.maxGradNorm);
          schedule.apply(optimizer, this.state.globalStep);
          const lr = optimizer.paramGroups[0]!.lr;
          await this.fire('onPreOptimizerStep');
          optimizer.step();
          optimizer.zeroGrad();
          this.state.globalStep = step;
          this.state.epoch = epoch + (u + 1) / updatesPerEpoch;
          lossSum += stepLoss;
          lossSteps++;
          windowLoss += stepLoss;
          windowSteps++;
          windowExamples += groupExamples;
          examplesSeen += groupExamples;
          const rate = groupExamples / Math.max((performance.now() - t0) / 1000, 1e-9);
          emaRate = emaRate === undefined ? rate : 0.9 * emaRate + 0.1 * rate;
          await this.fire('onStepEnd');
          this.progress.update({ step, total: maxSteps, loss: stepLoss, lr, examplesPerSecond: emaRate, epoch: this.state.epoch });

          const lastOfEpoch = u === updatesPerEpoch - 1 || step >= maxSteps;
          if (step % a.loggingSteps === 0 || this.control.shouldLog) {
            const secs = (performance.now() - windowStart) / 1000;
            await this.logEntry({
              loss: round(windowLoss / windowSteps),
              learning_rate: lr,
              grad_norm: round(norm.total),
              examples_per_second: round(windowExamples / Math.max(secs, 1e-9), 3),
            });
            windowLoss = 0;
            windowSteps = 0;
            windowExamples = 0;
            windowStart = performance.now();
            this.control.shouldLog = false;
          }
          const evalNow = (a.evalStrategy === 'steps' && step % a.evalSteps! === 0) || (a.evalStrategy === 'epoch' && lastOfEpoch) || this.control.shouldEvaluate;
          if (evalNow && this.evalDataset) await this.evaluate();
          const saveNow = (a.saveStrategy === 'steps' && step % a.saveSteps === 0) || (a.saveStrategy === 'epoch' && lastOfEpoch) || this.control.shouldSave;
          if (saveNow) await this.saveCheckpoint({ epoch, batchesDone: Math.min((u + 1) * ga, batches.length) });
          this.control.shouldEvaluate = false;
          this.control.shouldSave = false;
          if (this.control.shouldTrainingStop || this.control.shouldEpochStop) break;
        }
        await this.fire('onEpochEnd');
        if (this.control.shouldTrainingStop || this.state.globalStep >= maxSteps) stop = true;
      }
      if (windowSteps > 0) {
        // A final partial logging window, so the log's last loss is there even between logging steps.
        const secs = (performance.now() - windowStart) / 1000;
        await this.logEntry({ loss: round(windowLoss / windowSteps), learning_rate: optimizer.paramGroups[0]!.lr, examples_per_second: round(windowExamples / Math.max(secs, 1e-9), 3) });
      }
      if (a.loadBestModelAtEnd && this.state.bestModelCheckpoint) {
        this.print(`loading the best adapters from ${this.state.bestModelCheckpoint} (${evalMetricKey(a.metricForBestModel!)} = ${this.state.bestMetric})`);
        await loadAdapterWeights(this.model, this.host, this.state.bestModelCheckpoint);
      }
      const runtime = (performance.now() - start) / 1000;
      const trainingLoss = lossSteps ? lossSum / lossSteps : NaN;
      const metrics = {
        train_runtime: round(runtime, 4),
        train_samples_per_second: round(examplesSeen / Math.max(runtime, 1e-9), 3),
        train_steps_per_second: round(lossSteps / Math.max(runtime, 1e-9), 3),
        train_loss: trainingLoss,
        epoch: this.state.epoch,
      };
      await this.log.write({ step: this.state.globalStep, ...metrics });
      await this.fire('onTrainEnd');
      return { globalStep: this.state.globalStep, trainingLoss, metrics };
    } finally {
      this.progress.stop();
      await this.writeCurves().catch(() => undefined);
    }
  }

  /** Adds the fusion value regularizer's gradient before the step (a composition plugin provides it). */
  private addFusionRegularization(): void {
    if (!this.trainAdapterFusion) return;
    // Python adds it in on_step_end, after zero_grad, so it lands in the next step; here it joins the current step's gradients, so a resumed run loses nothing.
    const reg = fusionRegularizationLoss(this.host);
    if (reg) {
      try {
        backward(reg);
      } finally {
        reg.dispose();
      }
    }
  }

  private async logEntry(values: Record<string, number>): Promise<void> {
    const entry = { epoch: round(this.state.epoch, 4), step: this.state.globalStep, ...values };
    this.state.logHistory.push(entry);
    await this.log?.write(entry);
    await this.fire('onLog', entry);
    if (!this.progress?.live) {
      const parts = [`step ${entry.step}/${this.state.maxSteps}`, `epoch ${entry.epoch.toFixed(2)}`];
      for (const [k, v] of Object.entries(values)) parts.push(`${k} ${typeof v === 'number' && Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(3) : v}`);
      this.print(parts.join(' | '));
    }
  }

  /**
   * Evaluates on `dataset` (default: evalDataset). During training this
   * also records the metrics in the log and updates the best metric.
   */
  async evaluate(dataset?: readonly F[], prefix = 'eval'): Promise<Record<string, number>> {
    const ds = dataset ?? this.evalDataset;
    if (!ds) throw new Error('AdapterTrainer.evaluate: no evaluation data (evalDataset is missing)');
    const metrics = await evaluateModel<F>({
      model: this.model,
      dataset: ds,
      collator: this.dataCollator,
      batchSize: this.args.perDeviceEvalBatchSize,
      computeMetrics: this.computeMetrics,
      backend: this.backendName,
      prefix,
    });
    const entry = { epoch: round(this.state.epoch, 4), step: this.state.globalStep, ...metrics };
    this.state.logHistory.push(entry);
    await this.log?.write(entry);
    const key = this.args.metricForBestModel ? evalMetricKey(this.args.metricForBestModel) : undefined;
    if (key && prefix === 'eval') {
      if (!(key in metrics)) throw new Error(`metricForBestModel '${this.args.metricForBestModel}' is not among the evaluation results: ${Object.keys(metrics).join(', ')}`);
      this.lastEvalMetrics = { step: this.state.globalStep, metrics };
    }
    const line = `eval @ step ${this.state.globalStep}: ${Object.entries(metrics).map(([k, v]) => `${k} ${round(v, 4)}`).join(' | ')}`;
    if (this.progress?.live) this.progress.log(line);
    else this.print(line);
    await this.fire('onEvaluate', metrics);
    await this.writeCurves().catch(() => undefined);
    return metrics;
  }

  /**
   * Writes `checkpoint-<step>/` atomically: adapters (+ fusions) and heads in
   * the Python layout, optimizer moments and hyperparameters, scheduler,
   * random state, trainer_state.json and training_args.json. Updates the
   * best checkpoint and rotates old ones (saveTotalLimit).
   */
  private async saveCheckpoint(data: { epoch: number; batchesDone: number }): Promise<string> {
    const a = this.args;
    const step = this.state.globalStep;
    const { join, resolve } = await import('node:path');
    const finalPath = resolve(join(a.outputDir, `checkpoint-${step}`));
    const key = a.metricForBestModel ? evalMetricKey(a.metricForBestModel) : undefined;
    if (key && this.lastEvalMetrics?.step === step) {
      const v = this.lastEvalMetrics.metrics[key]!;
      if (isBetter(v, this.state.bestMetric, a.greaterIsBetter ?? false)) {
        this.state.bestMetric = v;
        this.state.bestModelCheckpoint = finalPath;
        this.state.bestGlobalStep = step;
      }
    }
    for (const cb of this.callbacks) if (cb.stateName && cb.getState) this.state.statefulCallbacks[cb.stateName] = cb.getState();
    const schedule = this.schedule!;
    const scheduler: SchedulerState = { type: a.lrSchedulerType, step, warmupSteps: schedule.warmupSteps, totalSteps: schedule.totalSteps, baseLr: schedule.lr };
    const dir = await writeCheckpointDir(a.outputDir, step, async (tmp) => {
      await saveAdapterWeights(this.model, this.host, tmp, { fusion: this.trainAdapterFusion });
      await saveOptimizerState(tmp, this.optimizer!, this.trainableParameterNames);
      await writeStateFiles(tmp, { state: this.state, scheduler, data: { seed: a.seed, ...data }, args: trainingArgumentsToJson(a) });
    });
    await rotateCheckpoints(a.outputDir, a.saveTotalLimit, this.state.bestModelCheckpoint);
    await this.fire('onSave', dir);
    return dir;
  }

  /** Restores weights, optimizer, scheduler, trainer state, callback state and random state from a checkpoint. */
  private async loadCheckpoint(dir: string, expect: { maxSteps: number; warmup: number }): Promise<void> {
    const { state, scheduler, rng } = await readStateFiles(dir);
    if (scheduler.totalSteps !== expect.maxSteps || scheduler.warmupSteps !== expect.warmup || scheduler.type !== this.args.lrSchedulerType) {
      throw new Error(`resumeFromCheckpoint ${dir}: the checkpoint's schedule (${scheduler.type}, ${scheduler.warmupSteps} warmup of ${scheduler.totalSteps} steps) differs from this run's (${this.args.lrSchedulerType}, ${expect.warmup} of ${expect.maxSteps}); use the same data size, batch size, epochs/maxSteps and warmup`);
    }
    if (rng.data.seed !== this.args.seed) throw new Error(`resumeFromCheckpoint ${dir}: the checkpoint was made with seed ${rng.data.seed}, this run has ${this.args.seed}`);
    await loadAdapterWeights(this.model, this.host, dir);
    // Weights may have been re-created (adapters the model lacked): rebuild the optimizer over the current parameters.
    this.createOptimizerAndSchedule(expect.maxSteps);
    await loadOptimizerState(dir, this.optimizer!, this.trainableParameterNames, this.model.parameters()[0]!.backend);
    this.state = { ...state, maxSteps: expect.maxSteps };
    for (const cb of this.callbacks) {
      const s = cb.stateName ? state.statefulCallbacks[cb.stateName] : undefined;
      if (s && cb.setState) cb.setState(s);
    }
    applyRng(rng);
  }

  /**
   * Saves the trained adapters and heads (Python `trainer.save_model()`):
   * every adapter in `dir/<name>/`, every head in `dir/<head>/`, and
   * training_args.json. Default dir: outputDir.
   */
  async saveModel(dir = this.args.outputDir): Promise<void> {
    const { mkdir } = await import('node:fs/promises');
    const { join } = await import('node:path');
    await mkdir(dir, { recursive: true });
    await saveAdapterWeights(this.model, this.host, dir, { fusion: this.trainAdapterFusion });
    await writeTextAtomic(join(dir, 'training_args.json'), `${JSON.stringify(trainingArgumentsToJson(this.args), null, 2)}\n`);
  }

  /** Frees the optimizer state (moments). The model is not touched. */
  dispose(): void {
    this.optimizer?.dispose();
    this.optimizer = undefined;
  }

  /** Writes training_curves.svg from log.jsonl (when plotCurves is on). */
  private async writeCurves(): Promise<void> {
    if (!this.args.plotCurves || !this.log) return;
    const { join } = await import('node:path');
    const entries = await JsonlLog.read(this.log.path);
    await writeTextAtomic(join(this.args.outputDir, 'training_curves.svg'), renderCurvesSvg(curvesFromLog(entries), { title: `training curves (${this.args.outputDir})` }));
  }
}

function round(v: number, digits = 6): number {
  return Number.isFinite(v) ? Number(v.toPrecision(digits)) : v;
}

/** Python's AdapterTrainerCallback check: the base model must be frozen when training begins. */
function adapterTrainerChecks(trainer: { host: AdapterHost }): TrainerCallback {
  return {
    onTrainBegin() {
      if (!trainer.host.modelFrozen) {
        throw new Error('AdapterTrainer: the pre-trained model weights are not frozen; for training adapters, call model.trainAdapter(name) first');
      }
    },
  };
}
