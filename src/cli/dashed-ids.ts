// Arweave transaction ids are 43 characters of base64url, and one in 64 starts with "-". A parser
// reads such an id as a cluster of short flags: `--arweave -h…` printed the help and exited 0.
// No option of ours looks like that, so before parsing such a token is taken out of the way: right
// after an option that takes a value it becomes `--option=<id>`; anywhere else it moves behind
// `--`, where commands that take a transaction id look for it (txArgument).

const DASHED_ID = /^-[A-Za-z0-9_-]{42}$/;

/** `valueOptions`: the long options (`--arweave`) that require a value. */
export function protectDashedIds(argv: readonly string[], valueOptions: ReadonlySet<string>): string[] {
  const end = argv.indexOf('--');
  const before = end < 0 ? argv : argv.slice(0, end);
  const after = end < 0 ? [] : argv.slice(end + 1);
  const out: string[] = [];
  const moved: string[] = [];
  for (const token of before) {
    if (!DASHED_ID.test(token)) {
      out.push(token);
      continue;
    }
    const previous = out.at(-1);
    if (previous !== undefined && valueOptions.has(previous)) out[out.length - 1] = `${previous}=${token}`;
    else moved.push(token);
  }
  if (moved.length === 0) return end < 0 ? out : [...out, '--', ...after];
  return [...out, '--', ...moved, ...after];
}
