// Backup ids: short, sortable, unique (docs/FORMAT.md §6.1), and the random hex ids of packs,
// index files, key files and locks.
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lowercase
const EPOCH_MS = Date.UTC(2020, 0, 1);
// 8 digits of milliseconds reach 2054; two backups in one second still sort in creation order.
const TIME_DIGITS = 8;
const RANDOM_DIGITS = 4;
export const BACKUP_ID_LENGTH = TIME_DIGITS + RANDOM_DIGITS;
export const BACKUP_ID_PATTERN = /^[0-9a-hjkmnp-tv-z]{12}$/;

export function newBackupId(now: Date = new Date()): string {
  let ms = Math.max(0, now.getTime() - EPOCH_MS);
  let time = '';
  for (let i = 0; i < TIME_DIGITS; i++) {
    time = ALPHABET[ms % 32] + time;
    ms = Math.floor(ms / 32);
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
