// Reads a password from the controlling terminal with echo off. Uses /dev/tty, not stdin, so
// `tar c . | agentvault backup create --stdin` can still ask.
import fs from 'node:fs';
import tty from 'node:tty';
import { AgentvaultError } from '../errors.js';

export function terminalAvailable(): boolean {
  try {
    fs.closeSync(fs.openSync('/dev/tty', 'r+'));
    return true;
  } catch {
    return false;
  }
}

export async function promptHidden(question: string): Promise<string> {
  let fd: number;
  try {
    fd = fs.openSync('/dev/tty', 'r+');
  } catch {
    throw new AgentvaultError('NEED_KEY', 'a password is needed but there is no terminal to ask on: set AGENTVAULT_PASSWORD or use --password-file');
  }
  const input = new tty.ReadStream(fd);
  const output = new tty.WriteStream(fd);
  // Echo off before the question appears, so nothing typed right after it is ever shown.
  input.setRawMode(true);
  output.write(question);
  input.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let answer = '';
      input.on('data', (data: Buffer) => {
        for (const ch of data.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            output.write('\n');
            resolve(answer);
            return;
          }
          if (ch === '\u0003') {
            output.write('\n');
            reject(new AgentvaultError('ABORTED', 'interrupted'));
            return;
          }
          if (ch === '\u007f' || ch === '\b') answer = answer.slice(0, -1);
          else if (ch >= ' ') answer += ch;
        }
      });
    });
  } finally {
    input.setRawMode(false);
    input.pause();
    input.destroy();
    output.destroy();
  }
}
