// One line for any failure: expected errors keep their message; system errors get a readable cause.
export function describeError(e: unknown): string {
  if (!(e instanceof Error)) return `internal error: ${String(e)}`;
  const code = (e as NodeJS.ErrnoException).code;
  const file = (e as NodeJS.ErrnoException).path;
  if (code === 'ENOENT') return `no such file or folder${file ? `: ${file}` : ''}`;
  if (code === 'EACCES' || code === 'EPERM') return `permission denied${file ? `: ${file}` : ''}`;
  if (code === 'ENOSPC') return 'no space left on the device';
  if (code === 'EISDIR') return `is a folder${file ? `: ${file}` : ''}`;
  if (e instanceof RangeError && /call stack/i.test(e.message)) return 'the model nests too deeply to process';
  return e.message.split('\n')[0];
}
