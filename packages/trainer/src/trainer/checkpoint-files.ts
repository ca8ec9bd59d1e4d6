import { getRngState, setRngState, type RngState } from '@adapterkit/core';
import { writeTextAtomic } from '../logging/jsonl-log.js';
import { trainerStateFromJson, trainerStateToJson, type TrainerState } from './state.js';

/**
 * The small JSON files of a checkpoint besides weights and optimizer
 * moments: trainer_state.json (HF's), scheduler.json, rng_state.json and
 * training_args.json.
 */
export const TRAINER_STATE_NAME = 'trainer_state.json';
export const SCHEDULER_NAME = 'scheduler.json';
export const RNG_STATE_NAME = 'rng_state.json';
export const TRAINING_ARGS_NAME = 'training_args.json';

/** Scheduler position (the schedule itself is rebuilt from the arguments and checked against this). */
export interface SchedulerState {
  type: string;
  /** Optimizer updates done: the next update uses factorAt(step). */
  step: number;
  warmupSteps: number;
  totalSteps: number;
  baseLr: number;
}

/** Random state: core's global stream (dropout) and the data order's position. */
export interface RngCheckpoint {
  /** Core's global random stream (`getRngState`). */
  global: RngState;
  /**
   * Data order: each epoch's permutation and each batch's masking seed are
   * pure functions of (seed, epoch, batch index) — core HostRandom streams
   * seeded per epoch/batch — so this position is all a resume needs.
   */
  data: { seed: number; epoch: number; batchesDone: number };
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeTextAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

async function readJson<T>(path: string): Promise<T> {
  const { readFile } = await import('node:fs/promises');
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Writes trainer_state.json, scheduler.json, rng_state.json (taking the global stream's state now) and training_args.json. */
export async function writeStateFiles(dir: string, s: { state: TrainerState; scheduler: SchedulerState; data: RngCheckpoint['data']; args: Record<string, unknown> }): Promise<void> {
  const { join } = await import('node:path');
  await writeJson(join(dir, TRAINER_STATE_NAME), trainerStateToJson(s.state));
  await writeJson(join(dir, SCHEDULER_NAME), s.scheduler);
  const rng: RngCheckpoint = { global: getRngState(), data: s.data };
  await writeJson(join(dir, RNG_STATE_NAME), rng);
  await writeJson(join(dir, TRAINING_ARGS_NAME), s.args);
}

/** Reads the state files of a checkpoint (does not apply the random state). */
export async function readStateFiles(dir: string): Promise<{ state: TrainerState; scheduler: SchedulerState; rng: RngCheckpoint }> {
  const { join } = await import('node:path');
  const statePath = join(dir, TRAINER_STATE_NAME);
  const state = trainerStateFromJson(await readJson<Record<string, unknown>>(statePath), statePath);
  const scheduler = await readJson<SchedulerState>(join(dir, SCHEDULER_NAME));
  const rng = await readJson<RngCheckpoint>(join(dir, RNG_STATE_NAME));
  return { state, scheduler, rng };
}

/** Restores core's global random stream from a checkpoint. */
export function applyRng(rng: RngCheckpoint): void {
  setRngState(rng.global);
}
