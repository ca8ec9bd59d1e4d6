#!/usr/bin/env node
/**
 * The `adapterkit` command line: train-glue, train-mlm and train-fusion,
 * mirroring the Python library's example scripts. Exit codes: 0 success,
 * 1 runtime error, 2 usage error (unknown flag, bad value, missing flag).
 */
import type { Command } from './command.js';
import type { CliIo } from './common.js';
import { UsageError, formatHelp, parseFlags } from './flags.js';
import { trainFusionCommand } from './train-fusion.js';
import { trainGlueCommand } from './train-glue.js';
import { trainMlmCommand } from './train-mlm.js';

/** The subcommands. */
export const COMMANDS: readonly Command[] = [trainGlueCommand, trainMlmCommand, trainFusionCommand];

function overview(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: adapterkit <command> [flags]',
    '',
    'Train adapters (parameter-efficient fine-tuning) for transformer models.',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    "Run 'adapterkit <command> --help' for the command's flags.",
  ].join('\n');
}

/** Runs the CLI on `argv` (without node and the script); returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l) }): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.err : io.out)(overview());
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    io.err(`adapterkit: unknown command '${name}'\n\n${overview()}`);
    return 2;
  }
  try {
    const flags = parseFlags(rest, cmd.flags);
    if (flags.help) {
      io.out(formatHelp(cmd.name, cmd.description, cmd.flags));
      return 0;
    }
    return await cmd.run(flags, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`adapterkit ${cmd.name}: ${e.message}\nRun 'adapterkit ${cmd.name} --help' for the flags.`);
      return 2;
    }
    io.err(`adapterkit ${cmd.name}: error: ${(e as Error).message}`);
    if (process.env.ADAPTERKIT_DEBUG) io.err((e as Error).stack ?? '');
    return 1;
  }
}

/** Whether this module is the process entry (the bin), not an import. */
async function isEntry(): Promise<boolean> {
  const entry = process.argv[1];
  if (!entry) return false;
  const { realpathSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (await isEntry()) {
  process.exitCode = await main(process.argv.slice(2));
}
