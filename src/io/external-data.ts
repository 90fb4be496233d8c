// External tensor data (ExternalData.md), opened under the rules of ExternalDataSecurity.md:
// a location must stay inside the model's folder — no absolute paths, no `..`, no symlink in any
// component, no hard-linked files — and is checked again after open (inode comparison).
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ExternalSource } from '../ir/tensor.js';
import { ModelFormatError } from '../ir/convert.js';

export class ExternalDataError extends ModelFormatError {}

/** Resolves `location` under `baseDir`, refusing anything that escapes it. Returns the canonical path. */
export function resolveExternalLocation(baseDir: string, location: string): string {
  if (location === '') throw new ExternalDataError('external data location is empty');
  if (path.isAbsolute(location) || /^[a-zA-Z]:[\\/]/.test(location) || location.startsWith('\\')) {
    throw new ExternalDataError(`external data location '${location}' is an absolute path; it must be relative to the model's folder`);
  }
  if (location.split(/[\\/]/).includes('..')) {
    throw new ExternalDataError(`external data location '${location}' contains '..'; it must stay inside the model's folder`);
  }
  const base = realpathSync(baseDir);
  const joined = path.join(base, location);
  let canonical: string;
  try {
    canonical = realpathSync(joined);
  } catch {
    throw new ExternalDataError(`external data file '${location}' does not exist next to the model`);
  }
  if (canonical !== joined) {
    throw new ExternalDataError(`external data location '${location}' goes through a symbolic link; refused`);
  }
  if (!canonical.startsWith(base + path.sep)) {
    throw new ExternalDataError(`external data location '${location}' escapes the model's folder`);
  }
  const st = lstatSync(canonical);
  if (st.isSymbolicLink()) throw new ExternalDataError(`external data file '${location}' is a symbolic link; refused`);
  if (!st.isFile()) throw new ExternalDataError(`external data location '${location}' is not a regular file`);
  if (st.nlink > 1) throw new ExternalDataError(`external data file '${location}' has ${st.nlink} hard links; refused`);
  return canonical;
}

/** Opens a checked path without following symlinks and verifies it is still the file that was checked. */
function openVerified(canonical: string): number {
  let fd: number;
  try {
    fd = openSync(canonical, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ExternalDataError(`cannot open external data file '${canonical}'${code === 'ELOOP' ? ': it became a symbolic link; refused' : `: ${code ?? (e as Error).message}`}`);
  }
  const opened = fstatSync(fd);
  const named = statSync(canonical);
  if (opened.ino !== named.ino || opened.dev !== named.dev || opened.nlink > 1) {
    closeSync(fd);
    throw new ExternalDataError(`external data file '${canonical}' changed while it was opened; refused`);
  }
  return fd;
}

function parseNonNegative(entries: ReadonlyMap<string, string>, key: string, tensorName: string): number | undefined {
  const raw = entries.get(key);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new ExternalDataError(`tensor '${tensorName}': external data ${key} '${raw}' is not a non-negative integer`);
  return Number(raw);
}

/** A lazy source for one tensor's external bytes; validates entries now, reads on first use. */
export function externalSource(baseDir: string, entries: ReadonlyMap<string, string>, tensorName: string): ExternalSource {
  const location = entries.get('location');
  if (location === undefined) throw new ExternalDataError(`tensor '${tensorName}' has external data without a location`);
  const file = resolveExternalLocation(baseDir, location);
  const fileSize = statSync(file).size;
  const offset = parseNonNegative(entries, 'offset', tensorName) ?? 0;
  const length = parseNonNegative(entries, 'length', tensorName) ?? fileSize - offset;
  if (offset + length > fileSize) {
    throw new ExternalDataError(`tensor '${tensorName}': external data [${offset}, ${offset + length}) runs past the end of '${location}' (${fileSize} bytes)`);
  }
  return {
    location,
    file,
    offset,
    length,
    read(): Uint8Array {
      const out = Buffer.allocUnsafe(length);
      const fd = openVerified(file);
      try {
        let done = 0;
        while (done < length) {
          const n = readSync(fd, out, done, Math.min(length - done, 1 << 30), offset + done);
          if (n === 0) throw new ExternalDataError(`external data file '${location}' ended early`);
          done += n;
        }
      } finally {
        closeSync(fd);
      }
      return out;
    },
  };
}
