// Progress on stderr for long work: bytes, rate, ETA. Only when stderr is a terminal, so logs
// and pipes stay clean.
import type { Progress } from '../stages/progress.js';
import { formatBytes, formatDuration } from './format.js';

export class ProgressDisplay {
  #shown = false;

  constructor(
    readonly label: string,
    readonly stream: NodeJS.WriteStream = process.stderr,
    readonly enabled: boolean = Boolean(process.stderr.isTTY),
  ) {}

  update = (p: Progress): void => {
    if (!this.enabled) return;
    const seconds = p.elapsedMs / 1000;
    const rate = seconds > 0 ? p.bytes / seconds : 0;
    let text = `${this.label} ${formatBytes(p.bytes)}`;
    if (p.totalBytes) {
      const pct = Math.min(100, (p.bytes / p.totalBytes) * 100);
      text += ` / ${formatBytes(p.totalBytes)} (${pct.toFixed(0)}%)`;
    }
    text += `  ${formatBytes(rate)}/s`;
    if (p.totalBytes && rate > 0 && p.bytes < p.totalBytes) text += `  ETA ${formatDuration(((p.totalBytes - p.bytes) / rate) * 1000)}`;
    const width = this.stream.columns ?? 100;
    this.stream.write(`\r${text.slice(0, width - 1).padEnd(Math.min(width - 1, text.length + 10))}`);
    this.#shown = true;
  };

  done(): void {
    if (this.#shown) this.stream.write('\r\x1b[K');
    this.#shown = false;
  }
}
