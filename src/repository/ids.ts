// Backup ids: short, sortable, unique (docs/FORMAT.md §6.1), and the random hex ids of packs,
// index files, key files and locks.
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lowercase
const EPOCH_SECONDS = Date.UTC(2020, 0, 1) / 1000;
const TIME_DIGITS = 7;
const RANDOM_DIGITS = 5;
export const BACKUP_ID_LENGTH = TIME_DIGITS + RANDOM_DIGITS;
export const BACKUP_ID_PATTERN = /^[0-9a-hjkmnp-tv-z]{12}$/;

export function newBackupId(now: Date = new Date()): string {
  let seconds = Math.max(0, Math.floor(now.getTime() / 1000 - EPOCH_SECONDS));
  let time = '';
  for (let i = 0; i < TIME_DIGITS; i++) {
    time = ALPHABET[seconds % 32] + time;
    seconds = Math.floor(seconds / 32);
  }
  const random = randomBytes(RANDOM_DIGITS);
  let tail = '';
  for (const b of random) tail += ALPHABET[b & 31];
  return time + tail;
}

export function randomHexId(bytes = 16): string {
  return randomBytes(bytes).toString('hex');
}

export function isHexId(s: string, bytes = 16): boolean {
  return s.length === bytes * 2 && /^[0-9a-f]+$/.test(s);
}
