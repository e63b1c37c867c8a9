// Typed access to parsed options. cac (through mri) turns numeric-looking values into numbers,
// which would turn a password "0123" into 123; string options are therefore re-read from the
// raw argv, exactly as typed.
import { UsageError } from '../errors.js';

export class Options {
  constructor(
    readonly parsed: Readonly<Record<string, unknown>>,
    readonly argv: readonly string[],
  ) {}

  /** All raw values given for `--name` (as `--name v` or `--name=v`), in order. */
  #raw(name: string): Array<string | true> {
    const flag = `--${name}`;
    const out: Array<string | true> = [];
    for (let i = 0; i < this.argv.length; i++) {
      const arg = this.argv[i]!;
      if (arg === '--') break;
      if (arg === flag) {
        const next = this.argv[i + 1];
        if (next !== undefined && !next.startsWith('-')) {
          out.push(next);
          i++;
        } else out.push(true);
      } else if (arg.startsWith(`${flag}=`)) out.push(arg.slice(flag.length + 1));
    }
    return out;
  }

  has(name: string): boolean {
    return this.#raw(name).length > 0 || this.argv.includes(`--no-${name}`);
  }

  /** A string option; `--name` without a value is a usage error. */
  string(name: string): string | undefined {
    const values = this.#raw(name);
    const last = values.at(-1);
    if (last === undefined) return undefined;
    if (last === true) throw new UsageError(`--${name} needs a value`);
    return last;
  }

  /** A repeatable string option. */
  strings(name: string): string[] {
    return this.#raw(name).map((v) => {
      if (v === true) throw new UsageError(`--${name} needs a value`);
      return v;
    });
  }

  /** `--name` alone gives true, `--name value` gives the value. */
  flagOrString(name: string): true | string | undefined {
    return this.#raw(name).at(-1);
  }

  bool(name: string): boolean | undefined {
    const v = this.parsed[camel(name)];
    if (v === undefined) return undefined;
    return v === true || v === 'true';
  }

  int(name: string, range: { min?: number; max?: number } = {}): number | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    if (!/^-?\d+$/.test(raw.trim())) throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(raw)}`);
    const n = Number(raw);
    if ((range.min !== undefined && n < range.min) || (range.max !== undefined && n > range.max)) {
      throw new UsageError(`--${name} must be between ${range.min ?? '-∞'} and ${range.max ?? '∞'}, got ${n}`);
    }
    return n;
  }

  /** One of a fixed set of words. */
  choice<T extends string>(name: string, choices: readonly T[]): T | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!(choices as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}; got ${JSON.stringify(v)}`);
    return v as T;
  }
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
