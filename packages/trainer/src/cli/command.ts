import type { CliIo } from './common.js';
import type { FlagSpec, FlagValues } from './flags.js';

/** A CLI subcommand: its flags, help text and what it runs (returns the exit code). */
export interface Command {
  name: string;
  summary: string;
  description: string;
  flags: FlagSpec[];
  run(flags: FlagValues, io: CliIo): Promise<number>;
}
