// A preview's recipe run in the page (the kernel's side: `Preview.recipe` in sdwidget/preview):
// one image's latents, { data: Float32Array C×H×W, c, h, w }, to the RGB bytes the preview's
// `rgb` gives, { data: Uint8Array H×W×3, h, w }. Values are kept in float32 as torch keeps them
// and summed in float64, so a byte differs from torch's only where a value sits on a rounding
// edge (tests/test_browser_lens_local.py counts them). Tensors come as Float32Arrays (`load`).

// out[r·n + i] = bias[r] + Σ_j wt[r·K + j] · rows[i·K + j] (r < o, i < n; `wt` has a multiple of 4
// rows, `rows` an even number): four r and two i at a time, so each value read serves 4 or 2 sums
// (a 48→48 3×3 convolution at 16² took 21 ms one sum at a time, 8 ms so; Node 20, loaded).
function product(wt, rows, K, o, n, out, bias) {
  for (let q = 0; q < o; q += 4) {
    const w0 = q * K, w1 = w0 + K, w2 = w1 + K, w3 = w2 + K, b = [0, 1, 2, 3].map((i) => bias[q + i] ?? 0);
    for (let i = 0; i < n; i += 2) {
      let a0 = b[0], a1 = b[1], a2 = b[2], a3 = b[3], e0 = a0, e1 = a1, e2 = a2, e3 = a3;
      for (let j = 0, u = i * K, v = u + K; j < K; j++) {
        const x = rows[u + j], z = rows[v + j], p0 = wt[w0 + j], p1 = wt[w1 + j], p2 = wt[w2 + j], p3 = wt[w3 + j];
        a0 += p0 * x; a1 += p1 * x; a2 += p2 * x; a3 += p3 * x;
        e0 += p0 * z; e1 += p1 * z; e2 += p2 * z; e3 += p3 * z;
      }
      const sums = [a0, a1, a2, a3, e0, e1, e2, e3]; // outputs past `o` (padding) or `n` are dropped
      for (let r = 0; r < 4 && q + r < o; r++) {
        out[(q + r) * n + i] = sums[r];
        if (i + 1 < n) out[(q + r) * n + i + 1] = sums[r + 4];
      }
    }
  }
}

// A convolution (zero padding k // 2): 3×3 as Winograd's, else as one product of each pixel's
// k×k×C window, laid out in a row, with the filters.
function conv(t, op) {
  const { c, h: ht, w, data } = t, [o, c2, k] = op.weight.shape, p = k >> 1, n = ht * w, K = c * k * k;
  if (c2 !== c) throw new Error(`a convolution of ${c2} channels given ${c}`);
  if (op.winograd) return winograd(t, op, o);
  const rows = new Float32Array((n + (n & 1)) * K), out = new Float32Array(o * n);
  for (let i = 0, j = 0; i < n; i++) {
    for (let ci = 0, y = Math.floor(i / w), x = i % w; ci < c; ci++) {
      for (let sy = y - p; sy <= y + p; sy++) {
        for (let sx = x - p; sx <= x + p; sx++, j++) {
          if (sy >= 0 && sy < ht && sx >= 0 && sx < w) rows[j] = data[(ci * ht + sy) * w + sx];
        }
      }
    }
  }
  product(op.padded, rows, K, o, n, out, op.bias.data);
  return { c: o, h: ht, w, data: out };
}

// Winograd's F(2, 3) matrices on four values of `v`, from `at` by `s`, in place: Bᵀ (an input
// tile's columns, then rows), Aᵀ (a product's, to two outputs) and G (a filter's: three to four).
function bT(v, at, s) {
  const a = v[at], b = v[at + s], c = v[at + 2 * s], e = v[at + 3 * s];
  v[at] = a - c; v[at + s] = b + c; v[at + 2 * s] = c - b; v[at + 3 * s] = b - e;
}
function aT(v, at, s) {
  const a = v[at], b = v[at + s], c = v[at + 2 * s], e = v[at + 3 * s];
  v[at] = a + b + c; v[at + s] = b - c - e;
}
function gOf(v, at, s) {
  const a = v[at], b = v[at + s], c = v[at + 2 * s];
  v[at + s] = (a + b + c) / 2; v[at + 2 * s] = (a - b + c) / 2; v[at + 3 * s] = c;
}

// Winograd's F(2×2, 3×3): each 4×4 input tile d, as Bᵀ·d·B, meets each filter g, as G·g·Gᵀ
// (`load`), in 16 products of C-long rows; Aᵀ·m·A of the sums gives the tile's 2×2 outputs:
// 16·C multiplications for 4 outputs where windows take 36·C. The demo's net: 22.5 → 16.8 ms (Node 20).
function winograd(t, op, o) {
  const { c, h: ht, w, data } = t, th = (ht + 1) >> 1, tw = (w + 1) >> 1, n = th * tw, pairs = n + (n & 1);
  const tiles = new Float32Array(16 * pairs * c), sums = new Float32Array(16 * o * n), d = new Float64Array(16);
  for (let at = 0; at < c * n; at++) { // channel `ci`, tile `tile`
    const ci = Math.floor(at / n), tile = at % n, y0 = 2 * Math.floor(tile / tw) - 1, x0 = 2 * (tile % tw) - 1;
    for (let i = 0; i < 16; i++) {
      const y = y0 + (i >> 2), x = x0 + (i & 3);
      d[i] = y >= 0 && y < ht && x >= 0 && x < w ? data[(ci * ht + y) * w + x] : 0;
    }
    for (let i = 0; i < 4; i++) bT(d, i, 4); // columns, then rows
    for (let i = 0; i < 4; i++) bT(d, 4 * i, 1);
    for (let i = 0; i < 16; i++) tiles[(i * pairs + tile) * c + ci] = d[i];
  }
  const u = op.winograd, size = u.length / 16, sub = (a, i, len) => a.subarray(i * len, (i + 1) * len);
  for (let i = 0; i < 16; i++) product(sub(u, i, size), sub(tiles, i, pairs * c), c, o, n, sub(sums, i, o * n), []);
  const out = new Float32Array(o * ht * w), bias = op.bias.data;
  for (let at = 0; at < o * n; at++) { // output channel `q`, tile `tile`
    const q = Math.floor(at / n), tile = at % n, y = 2 * Math.floor(tile / tw), x = 2 * (tile % tw);
    for (let i = 0; i < 16; i++) d[i] = sums[(i * o + q) * n + tile];
    for (let i = 0; i < 4; i++) aT(d, i, 4); // rows 0-1 hold Aᵀ·m
    for (let i = 0; i < 2; i++) aT(d, 4 * i, 1);
    for (let i = 0, yy = y, xx = x; i < 4; i++, yy = y + (i >> 1), xx = x + (i & 1)) {
      if (yy < ht && xx < w) out[(q * ht + yy) * w + xx] = d[(i >> 1) * 4 + (i & 1)] + bias[q];
    }
  }
  return { c: o, h: ht, w, data: out };
}

function groupNorm(t, op) {
  const { c, h: ht, w, data } = t, per = (c / op.groups) * ht * w, out = new Float32Array(data.length);
  for (let g = 0; g < op.groups; g++) {
    let mean = 0, spread = 0;
    for (let i = g * per; i < (g + 1) * per; i++) mean += data[i] / per;
    for (let i = g * per; i < (g + 1) * per; i++) spread += (data[i] - mean) ** 2;
    const scale = 1 / Math.sqrt(spread / per + op.eps); // the biased variance, as torch's
    for (let i = g * per, ch; i < (g + 1) * per; i++) {
      ch = Math.floor(i / (ht * w));
      out[i] = (data[i] - mean) * scale * op.weight.data[ch] + op.bias.data[ch];
    }
  }
  return { ...t, data: out };
}

// (C·r², H, W) → (C, H·r, W·r): channel c·r² + i·r + j lands at row y·r + i, column x·r + j.
function shuffle(t, r) {
  const { c, h: ht, w, data } = t, C = c / (r * r), W = w * r, out = new Float32Array(data.length);
  for (let at = 0; at < data.length; at++) { // channel `ch`, row `y`, column `x`
    const ch = Math.floor(at / (ht * w)), y = Math.floor(at / w) % ht, x = at % w, i = Math.floor(ch / r) % r;
    out[Math.floor(ch / (r * r)) * ht * r * W + (y * r + i) * W + x * r + (ch % r)] = data[at];
  }
  return { c: C, h: ht * r, w: W, data: out };
}

// Area pooling by ⌈longest side / max_size⌉ (torch's avg_pool2d, ceil mode): an edge cell
// averages the part of it inside the image.
function pool(t, maxSize) {
  const { c, h: ht, w, data } = t, s = Math.ceil(Math.max(ht, w) / maxSize), H = Math.ceil(ht / s);
  const W = Math.ceil(w / s), sums = new Float64Array(c * H * W), counts = new Float64Array(c * H * W);
  if (s <= 1) return t;
  for (let at = 0; at < data.length; at++) { // channel `ch`, row `y`, column `x`: into its cell
    const ch = Math.floor(at / (ht * w)), y = Math.floor(at / w) % ht, cell = (ch * H + Math.floor(y / s)) * W;
    sums[cell + Math.floor((at % w) / s)] += data[at];
    counts[cell + Math.floor((at % w) / s)] += 1;
  }
  return { c, h: H, w: W, data: Float32Array.from(sums, (sum, i) => sum / counts[i]) };
}

// To bytes, H×W×3: clamped to 0–255 and cast (torch's cast truncates), from [-1, 1] (`to_uint8`,
// rounded as the pipeline rounds) or from 0–255 units (`bytes`: the linear map's own scale).
function bytes(t, fromUnit) {
  const { h: ht, w, data } = t, n = ht * w, out = new Uint8Array(n * 3), f = Math.fround; // float32 steps
  for (let at = 0; at < 3 * n; at++) { // channel by channel in, pixel by pixel out
    const v = fromUnit ? f(f(f(data[at] + 1) * 127.5) + 0.5) : data[at];
    out[(at % n) * 3 + Math.floor(at / n)] = Math.min(255, Math.max(0, v)) | 0; // NaN casts to 0
  }
  return { h: ht, w, data: out };
}

const silu = (x) => x / (1 + Math.exp(-x));
// Element by element, in a plain loop: a typed array's map with a closure took 3-4 times as long.
function map(t, f, other) {
  const { data } = t, out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = f(data[i], other?.[i]);
  return { ...t, data: out };
}
// Each op: (tensor, op, kept: the tensors `push` keeps for `add`, a residual) → tensor.
const OPS = { conv, group_norm: groupNorm, pixel_shuffle: (t, op) => shuffle(t, op.factor), silu: (t) => map(t, silu),
  clamp: (t, op) => map(t, (x) => Math.min(op.high, Math.max(op.low, x))), pool: (t, op) => pool(t, op.max_size),
  to_uint8: (t) => bytes(t, true), bytes: (t) => bytes(t, false),
  push: (t, op, kept) => (kept.push(t), t), add: (t, op, kept) => map(t, (v, u) => v + u, kept.pop().data) };

// The kernel's ops with their tensors read from `buffers` (DataViews: copied, as a view's offset
// may not be a multiple of 4) and checked against their shapes; a convolution's weights padded to
// a multiple of four output channels. Throws on anything it cannot run.
export function load(ops, buffers) {
  const tensor = (ref) => {
    const view = buffers[ref.buffer], n = ref.shape.reduce((a, b) => a * b, 1);
    if (!view || view.byteLength !== n * 4) throw new Error("a recipe tensor does not fit its shape");
    return { shape: ref.shape, data: new Float32Array(view.buffer.slice(view.byteOffset, view.byteOffset + n * 4)) };
  };
  return ops.map((op) => {
    if (!Object.hasOwn(OPS, op.op)) throw new Error(`unknown recipe op ${op.op}`);
    const out = { ...op };
    for (const name of ["weight", "bias"]) if (op[name]) out[name] = tensor(op[name]);
    if (op.op === "conv") {
      const [o, c, k, k2] = out.weight.shape, rows = Math.ceil(o / 4) * 4, g = out.weight.data;
      if (k !== k2 || k % 2 !== 1 || out.bias?.data.length !== o) throw new Error("a convolution the page cannot run");
      out.padded = new Float32Array(rows * c * k * k);
      out.padded.set(g);
      if (k === 3 && c >= 8) { // G·g·Gᵀ of each filter, as the 16 products read it (fewer channels: too short)
        out.winograd = new Float32Array(16 * rows * c);
        const f = new Float64Array(16);
        for (let i = 0; i < o * c; i++) {
          for (let j = 0; j < 9; j++) f[(j / 3 | 0) * 4 + (j % 3)] = g[i * 9 + j];
          for (let j = 0; j < 3; j++) gOf(f, j, 4); // columns (3 → 4 rows), then rows
          for (let j = 0; j < 4; j++) gOf(f, 4 * j, 1);
          for (let j = 0; j < 16; j++) out.winograd[(j * rows + Math.floor(i / c)) * c + (i % c)] = f[j];
        }
      }
    }
    return out;
  });
}

// The recipe on latents `x` ({ data, c, h, w }): its bytes.
export function runRecipe(ops, x) {
  const kept = [];
  let t = x;
  for (const op of ops) t = OPS[op.op](t, op, kept);
  if (!(t.data instanceof Uint8Array)) throw new Error("a recipe ends in bytes");
  return t;
}
