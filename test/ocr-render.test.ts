// The OCR benches' render cache: a second render of the same arguments is read back from the cache, byte for byte
// the image ImageMagick made, and only whole images are left in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { convertCached, hasImageMagick } from '../bench/lib/ocr.js';

test('rendered lines are cached by their arguments', { skip: hasImageMagick() ? false : 'needs ImageMagick and the Noto CJK fonts' }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ocr-renders-'));
  try {
    const args = ['-seed', '7', '-background', 'white', '-fill', 'black', '-pointsize', '30', 'label:cache 42', '+noise', 'Gaussian', '-resize', 'x48', 'ppm:-'];
    const first = convertCached(args, dir);
    assert.equal(readdirSync(dir).filter((f) => f.endsWith('.ppm')).length, 1);
    assert.ok(first.equals(execFileSync('convert', args)), 'the seeded render is reproducible, so a cached image is the one convert makes');
    assert.ok(convertCached(args, dir).equals(first));
    convertCached([...args.slice(0, -1), '-blur', '0x1', 'ppm:-'], dir);
    assert.deepEqual(readdirSync(dir).sort().map((f) => path.extname(f)), ['.ppm', '.ppm'], 'one image per argument list, no partial files');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
