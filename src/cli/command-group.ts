// One cac instance per command group (`agentvault backup …`, `agentvault archive …`): cac has
// no nested commands, so `agentvault backup create` is group "backup", command "create".
import { cac, type CAC, type Command } from 'cac';
import { AgentvaultError, UsageError } from '../errors.js';
import { CommandContext, type CommandIo } from './context.js';
import { protectDashedIds } from './dashed-ids.js';
import { Options } from './options.js';

export type CommandAction = (ctx: CommandContext, ...args: string[]) => Promise<void>;

export class CommandGroup {
  readonly cli: CAC;
  #pending: Promise<void> | undefined;
  #argv: readonly string[];

  constructor(
    readonly name: string,
    argv: readonly string[],
    readonly io: CommandIo,
  ) {
    this.#argv = argv;
    this.cli = cac(`agentvault ${name}`);
    this.cli.help();
  }

  command(spec: string, description: string): Command {
    return this.cli.command(spec, description);
  }

  /** Wraps an action so that it gets a CommandContext and its promise is awaited by run(). */
  action(fn: CommandAction): (...args: unknown[]) => void {
    return (...args: unknown[]) => {
      const parsed = args.pop() as Record<string, unknown>;
      const positional = args.map((a) => (a === undefined ? a : String(a))) as string[];
      this.#pending = fn(new CommandContext(new Options(parsed, this.#argv), this.io), ...positional);
    };
  }

  /** Parses and runs; resolves once the command is done. Unknown commands are usage errors. */
  async run(): Promise<void> {
    this.#argv = protectDashedIds(this.#argv, this.#valueOptions());
    try {
      this.cli.parse(['node', `agentvault ${this.name}`, ...this.#argv], { run: false });
    } catch (err) {
      throw asUsageError(err);
    }
    const wantsHelp = this.cli.options.help === true;
    if (wantsHelp) return; // cac printed it
    if (!this.cli.matchedCommand) {
      const given = this.cli.args[0];
      const hint = `; run agentvault ${this.name} --help`;
      throw new UsageError(given ? `unknown command: agentvault ${this.name} ${given}${hint}` : `agentvault ${this.name} needs a command${hint}`);
    }
    try {
      await this.cli.runMatchedCommand();
    } catch (err) {
      throw asUsageError(err);
    }
    await this.#pending;
  }

  /** Every `--name` of the group's commands that requires a value (`--name <value>`). */
  #valueOptions(): Set<string> {
    const names = new Set<string>();
    for (const command of [this.cli.globalCommand, ...this.cli.commands]) {
      for (const option of command.options) {
        if (!option.rawName.includes('<')) continue;
        for (const part of option.rawName.split(/[\s,]+/)) if (part.startsWith('--')) names.add(part);
      }
    }
    return names;
  }
}

function asUsageError(err: unknown): Error {
  if (err instanceof AgentvaultError) return err;
  if (err instanceof Error && err.name === 'CACError') return new UsageError(err.message.replace(/`/g, ''));
  return err as Error;
}

/** Options every repository command takes. */
export function withRepositoryOptions(cmd: Command): Command {
  return cmd
    .option('--destination <path>', 'Repository path (default: $AGENTVAULT_REPO, the configured one, or the user data dir)')
    .option('--password [password]', 'Ask for the password (giving it here is visible to other users)')
    .option('--password-file <file>', 'Read the password from a file')
    .option('--key-file <file>', 'age identity file (read and write) or recipient file (write only)')
    .option('--json', 'Machine-readable output on stdout')
    .option('-q, --quiet', 'No messages on stderr except errors');
}
