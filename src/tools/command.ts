// Owns what every command line does the same way: parsing options (node:util parseArgs), printing help,
// reporting a usage error (exit 2) and turning a ToolError or a bug into a message and an exit code.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ToolError } from './mount.js';

export const USAGE_EXIT = 2;

/** Say what was wrong with the command line, point at --help, and give the usage exit code. */
export function usageError(command: string, message: string): number {
  process.stderr.write(`${command}: ${message}\nTry "${command} --help".\n`);
  return USAGE_EXIT;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** What parseArgs gives for `O`: strings and booleans by option type, each possibly absent. */
export interface CommandLine<O extends Options> {
  values: { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string };
  positionals: string[];
}

/**
 * Parse `argv` with `options` (plus -h/--help). Returns the parsed values, or an exit code when the
 * command is already answered: 0 after printing `help`, USAGE_EXIT after a usage error.
 */
export function parseCommandLine<O extends Options>(command: string, argv: string[], options: O, help: string): CommandLine<O> | number {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' }, ...options } });
  } catch (err) {
    return usageError(command, (err as Error).message);
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(help);
    return 0;
  }
  return parsed as unknown as CommandLine<O>;
}

/** Run a command's work: a ToolError becomes its message and exit code, anything else a stack and exit 1. */
export async function runTool(command: string, work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ToolError) {
      if (err.message) process.stderr.write(`${command}: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`${command}: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}
