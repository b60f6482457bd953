// A preview's recipe run in the page (the kernel's side: `Preview.recipe` in sdwidget/preview):
// one image's latents, { data: Float32Array C×H×W, c, h, w }, to the RGB bytes the preview's
// `rgb` gives, { data: Uint8Array H×W×3, h, w }. Values are kept in float32 as torch keeps them
// and summed in float64, so a byte differs from torch's only where a value sits on a rounding
// edge (tests/test_browser_lens_local.py counts them). Tensors come as Float32Arrays (`load`).

// A convolution as one product: each pixel's k×k×C window laid out in a row (im2col), then four
// output channels and two pixels at a time, so each window value and weight read serves four or
// two sums: the demo's 48→48 3×3 at 16² took 21 ms one sum at a time, 8 ms so (Node 20, loaded).
function conv(t, op) {
  const { c, h: ht, w, data } = t, [o, c2, k] = op.weight.shape, p = k >> 1, n = ht * w, K = c * k * k;
  if (c2 !== c) throw new Error(`a convolution of ${c2} channels given ${c}`);
  const pairs = n + (n & 1), cols = new Float32Array(pairs * K), wt = op.padded, bias = op.bias.data;
  for (let y = 0, j = 0; y < ht; y++) {
    for (let x = 0; x < w; x++) {
      for (let ci = 0; ci < c; ci++) {
        for (let dy = 0; dy < k; dy++) {
          const sy = y + dy - p, row = (ci * ht + sy) * w;
          for (let dx = 0; dx < k; dx++, j++) {
            const sx = x + dx - p;
            if (sy >= 0 && sy < ht && sx >= 0 && sx < w) cols[j] = data[row + sx];
          }
        }
      }
    }
  }
  const out = new Float32Array(o * n);
  for (let q = 0; q < o; q += 4) {
    const w0 = q * K, w1 = w0 + K, w2 = w1 + K, w3 = w2 + K, b = [0, 1, 2, 3].map((i) => bias[q + i] ?? 0);
    for (let i = 0; i < n; i += 2) {
      let a0 = b[0], a1 = b[1], a2 = b[2], a3 = b[3], e0 = a0, e1 = a1, e2 = a2, e3 = a3;
      for (let j = 0, u = i * K, v = u + K; j < K; j++) {
        const x = cols[u + j], z = cols[v + j], p0 = wt[w0 + j], p1 = wt[w1 + j], p2 = wt[w2 + j], p3 = wt[w3 + j];
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
  return { c: o, h: ht, w, data: out };
}

function groupNorm(t, op) {
  const { c, h: ht, w, data } = t, per = (c / op.groups) * ht * w, out = new Float32Array(data.length);
  for (let g = 0; g < op.groups; g++) {
    let mean = 0, spread = 0;
    for (let i = g * per; i < (g + 1) * per; i++) mean += data[i];
    mean /= per;
    for (let i = g * per; i < (g + 1) * per; i++) spread += (data[i] - mean) ** 2;
    const scale = 1 / Math.sqrt(spread / per + op.eps); // the biased variance, as torch's
    for (let i = g * per; i < (g + 1) * per; i++) {
      const ch = Math.floor(i / (ht * w));
      out[i] = (data[i] - mean) * scale * op.weight.data[ch] + op.bias.data[ch];
    }
  }
  return { ...t, data: out };
}

// (C·r², H, W) → (C, H·r, W·r): channel c·r² + i·r + j lands at row y·r + i, column x·r + j.
function shuffle(t, r) {
  const { c, h: ht, w, data } = t, C = c / (r * r), W = w * r, out = new Float32Array(data.length);
  for (let ch = 0; ch < c; ch++) {
    const base = Math.floor(ch / (r * r)) * ht * r * W, i = Math.floor(ch / r) % r, j = ch % r;
    for (let y = 0; y < ht; y++) {
      for (let x = 0; x < w; x++) out[base + (y * r + i) * W + x * r + j] = data[(ch * ht + y) * w + x];
    }
  }
  return { c: C, h: ht * r, w: W, data: out };
}

// Area pooling by ⌈longest side / max_size⌉ (torch's avg_pool2d, ceil mode): an edge cell
// averages the part of it inside the image.
function pool(t, maxSize) {
  const { c, h: ht, w, data } = t, s = Math.ceil(Math.max(ht, w) / maxSize);
  if (s <= 1) return t;
  const H = Math.ceil(ht / s), W = Math.ceil(w / s), out = new Float32Array(c * H * W);
  for (let ch = 0; ch < c; ch++) {
    for (let Y = 0; Y < H; Y++) {
      for (let X = 0; X < W; X++) {
        let sum = 0, count = 0;
        for (let y = Y * s; y < Math.min(ht, Y * s + s); y++) {
          for (let x = X * s; x < Math.min(w, X * s + s); x++, count++) sum += data[(ch * ht + y) * w + x];
        }
        out[(ch * H + Y) * W + X] = sum / count;
      }
    }
  }
  return { c, h: H, w: W, data: out };
}

// To bytes, H×W×3: clamped to 0–255 and cast (torch's cast truncates), from [-1, 1] (`to_uint8`,
// rounded as the pipeline rounds) or from 0–255 units (`bytes`: the linear map's own scale).
function bytes(t, fromUnit) {
  const { h: ht, w, data } = t, n = ht * w, out = new Uint8Array(n * 3);
  for (let ch = 0; ch < 3; ch++) {
    for (let i = 0; i < n; i++) {
      const v = fromUnit ? Math.fround(Math.fround(Math.fround(data[ch * n + i] + 1) * 127.5) + 0.5) : data[ch * n + i];
      out[i * 3 + ch] = Math.min(255, Math.max(0, v)) | 0; // NaN casts to 0
    }
  }
  return { h: ht, w, data: out };
}

// Element by element, in a plain loop: a typed array's map with a closure took 3-4 times as long.
function map(t, f, other) {
  const { data } = t, out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = f(data[i], other?.[i]);
  return { ...t, data: out };
}
const OPS = {
  conv,
  group_norm: groupNorm,
  silu: (t) => map(t, (x) => x / (1 + Math.exp(-x))),
  pixel_shuffle: (t, op) => shuffle(t, op.factor),
  clamp: (t, op) => map(t, (x) => Math.min(op.high, Math.max(op.low, x))),
  pool: (t, op) => pool(t, op.max_size),
  to_uint8: (t) => bytes(t, true),
  bytes: (t) => bytes(t, false),
};

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
    if (!(op.op in OPS) && !["push", "add"].includes(op.op)) throw new Error(`unknown recipe op ${op.op}`);
    const out = { ...op };
    for (const name of ["weight", "bias"]) if (op[name]) out[name] = tensor(op[name]);
    if (op.op === "conv") {
      const [o, c, k, k2] = out.weight.shape;
      if (k !== k2 || k % 2 !== 1 || out.bias?.data.length !== o) throw new Error("a convolution the page cannot run");
      out.padded = new Float32Array(Math.ceil(o / 4) * 4 * c * k * k);
      out.padded.set(out.weight.data);
    }
    return out;
  });
}

// The recipe on latents `x` ({ data, c, h, w }): its bytes.
export function runRecipe(ops, x) {
  const kept = [];
  let t = x;
  for (const op of ops) {
    if (op.op === "push") kept.push(t);
    else if (op.op === "add") t = map(t, (v, u) => v + u, kept.pop().data);
    else t = OPS[op.op](t, op);
  }
  if (!(t.data instanceof Uint8Array)) throw new Error("a recipe ends in bytes");
  return t;
}
