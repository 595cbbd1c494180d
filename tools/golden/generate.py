#!/usr/bin/env python3
"""Reference vectors for `archbench verify` (fixtures/golden/), computed from the formulas of
fixtures/golden/README.md in NumPy float64 and stored as float32.

Independent of what it checks: another language and library, written from the papers' reference
formulas (README.md), sharing no code with the TypeScript layers (architectures/*.ts).

  python3 tools/golden/generate.py [--out fixtures/golden]   write the case files (deterministic)
  python3 tools/golden/generate.py --check DIR               recompute the outputs of DIR's case files
      (outputs of the official PyTorch reference code, same format) from their own weights and inputs;
      exit 1 when any differs by more than the README rule 2e-5 * max(1, max|ref|)

Needs only NumPy.
"""
import argparse
import json
import math
import os
import sys

import numpy as np

SEED = 19  # the fixtures' seed (the official vectors used torch.manual_seed(1): other weights, same shapes)


# ------------------------------------------------------------------ common pieces (README "Common pieces")

def rms_norm(z, eps, weight=None):
    """z / sqrt(mean_last_axis(z^2) + eps), times weight when given."""
    out = z / np.sqrt(np.mean(z * z, axis=-1, keepdims=True) + eps)
    return out if weight is None else out * weight


def rotate_every_two(x):
    """[a0, a1, a2, a3, ...] -> [-a1, a0, -a3, a2, ...] on the last axis."""
    out = np.empty_like(x)
    out[..., 0::2] = -x[..., 1::2]
    out[..., 1::2] = x[..., 0::2]
    return out


def dup(t):
    """[c0, c1, ...] -> [c0, c0, c1, c1, ...] on the last axis."""
    return np.repeat(t, 2, axis=-1)


def silu(z):
    return z / (1.0 + np.exp(-z))


def rope_tables(length, half, theta=10000.0):
    """Interleaved RoPE tables cos/sin [length, half] of n * angle_i, angle = 1/theta^linspace(0, 1, half)."""
    angle = 1.0 / theta ** np.linspace(0.0, 1.0, half)
    n = np.arange(length, dtype=np.float64)[:, None]
    return np.cos(n * angle), np.sin(n * angle), angle


def rope(x, cos, sin):
    """out = x * dup(cos[n]) + rotate_every_two(x) * dup(sin[n]); x [..., L, d], cos/sin [L, d/2]."""
    return x * dup(cos) + rotate_every_two(x) * dup(sin)


def linear(x, w):
    """nn.Linear without bias: y = x @ W^T, W [out, in]."""
    return x @ w.T


# ------------------------------------------------------------------ 1. RetNet MultiScaleRetention

def retnet_tables(h, kd, length, chunk):
    angle = dup(1.0 / 10000 ** np.linspace(0.0, 1.0, kd // 2))
    decay_log = np.log(1.0 - 2.0 ** (-5.0 - np.arange(h)))
    gamma = np.exp(decay_log)
    n = np.arange(length)[:, None]
    diff = n - n.T  # [L, L]: n - m
    d = np.where(diff >= 0, np.exp(decay_log[:, None, None] * np.maximum(diff, 0)), 0.0)  # [H, L, L]
    decay_mask = d / np.sqrt(d.sum(-1, keepdims=True))
    padded = -(-length // chunk) * chunk
    p = np.arange(padded)[:, None]
    i = np.arange(chunk)
    ci = i[:, None] - i[None, :]
    m = np.where(ci >= 0, np.exp(decay_log[:, None, None] * np.maximum(ci, 0)), 0.0)  # [H, C, C]
    rs = np.sqrt(m.sum(-1))  # [H, C]
    sum_c = m[:, -1].sum(-1)  # [H]
    return {
        'relpos.angle': angle, 'relpos.decay_log': decay_log,
        'parallel.sin': np.sin(n * angle), 'parallel.cos': np.cos(n * angle), 'parallel.decay_mask': decay_mask,
        'recurrent.sin_per_step': np.sin(n * angle), 'recurrent.cos_per_step': np.cos(n * angle), 'recurrent.decay': gamma,
        'chunkwise.sin': np.sin(p * angle), 'chunkwise.cos': np.cos(p * angle),
        'chunkwise.inner_mask': m / rs[:, :, None],
        'chunkwise.cross_decay': (gamma ** chunk)[:, None, None],
        'chunkwise.query_inner_decay': (gamma[:, None] ** (i + 1) * sum_c[:, None] / rs)[:, :, None],
        'chunkwise.value_inner_decay': (m[:, -1] / sum_c[:, None])[:, :, None],
    }


def retnet_msr(cfg, w, x):
    """The three forms of MultiScaleRetention on x [B, L, E]; outputs and intermediates."""
    b, length, _ = x.shape
    h, chunk, eps = cfg['num_heads'], cfg['recurrent_chunk_size'], cfg['layernorm_eps']
    e, dv = cfg['embed_dim'], cfg['value_dim']
    kd, hd = e // h, dv // h
    t = retnet_tables(h, kd, length, chunk)

    def project(xx, sin, cos):
        q = linear(xx, w['q_proj.weight'])
        k = linear(xx, w['k_proj.weight']) * kd ** -0.5
        v = linear(xx, w['v_proj.weight'])
        g = linear(xx, w['g_proj.weight'])
        heads = lambda z: z.reshape(b, -1, h, kd).transpose(0, 2, 1, 3)  # [B, H, L, kd]
        qr = heads(q) * cos + rotate_every_two(heads(q)) * sin
        kr = heads(k) * cos + rotate_every_two(heads(k)) * sin
        return q, k, v, g, qr, kr

    def finish(o, g):
        """o [B, L, H, hd] -> group norm, gate, output projection."""
        normed = rms_norm(o, eps)
        gated = silu(g) * normed.reshape(b, -1, dv)
        return linear(gated, w['out_proj.weight']), normed, gated

    q, k, v, g, qr, kr = project(x, t['parallel.sin'], t['parallel.cos'])
    vh = v.reshape(b, length, h, hd).transpose(0, 2, 1, 3)  # [B, H, L, hd]

    # parallel: A = (qr kr^T) * D, rows divided by clamp(sum |A|, 1, 5e4), o = A v
    a = (qr @ kr.transpose(0, 1, 3, 2)) * t['parallel.decay_mask']
    a = a / np.clip(np.abs(a).sum(-1, keepdims=True), 1, 5e4)
    pre = (a @ vh).transpose(0, 2, 1, 3)  # [B, L, H, hd]
    parallel, normed, gated = finish(pre, g)

    # recurrent: s_n = s_{n-1} gamma + 1, S_n = S_{n-1} sqrt(s_{n-1}) gamma / sqrt(s_n) + kr_n (x) v_n / sqrt(s_n)
    gamma = t['recurrent.decay'][None, :, None, None]
    state = np.zeros((b, h, kd, hd))
    s = np.zeros((1, h, 1, 1))
    rec = []
    for n in range(length):
        s_new = s * gamma + 1
        state = state * np.sqrt(s) * gamma / np.sqrt(s_new) + kr[:, :, n, :, None] * vh[:, :, n, None, :] / np.sqrt(s_new)
        s = s_new
        rec.append(np.einsum('bhk,bhkv->bhv', qr[:, :, n], state))
    recurrent, _, _ = finish(np.stack(rec, axis=1), g)

    # chunkwise: zero-padded to a multiple of the chunk, per chunk inner part + decayed state, max scales
    padded = -(-length // chunk) * chunk
    xp = np.concatenate([x, np.zeros((b, padded - length, e))], axis=1)
    _, _, vp, _, qrp, krp = project(xp, t['chunkwise.sin'], t['chunkwise.cos'])
    vph = vp.reshape(b, padded, h, hd).transpose(0, 2, 1, 3)
    state = np.zeros((b, h, kd, hd))
    kvs = np.ones((b, h, 1, 1))
    out = []
    for c in range(padded // chunk):
        sl = slice(c * chunk, (c + 1) * chunk)
        qc, kc, vc = qrp[:, :, sl], krp[:, :, sl], vph[:, :, sl]
        ac = (qc @ kc.transpose(0, 1, 3, 2)) * t['chunkwise.inner_mask']
        isc = np.maximum(np.abs(ac).sum(-1, keepdims=True), 1)
        cross = (qc * t['chunkwise.query_inner_decay']) @ state
        out.append((ac @ vc + cross) / np.maximum(isc, kvs))
        state = state * t['chunkwise.cross_decay'] + kc.transpose(0, 1, 3, 2) @ (vc * t['chunkwise.value_inner_decay'])
        kvs = np.maximum(1, np.abs(state).sum(-2, keepdims=True).max(-1, keepdims=True))
    chunkwise, _, _ = finish(np.concatenate(out, axis=2).transpose(0, 2, 1, 3)[:, :length], g)

    outputs = {
        'parallel_output': parallel, 'recurrent_output': recurrent, 'chunkwise_output': chunkwise,
        'intermediate.q': q, 'intermediate.k_scaled': k, 'intermediate.v': v, 'intermediate.g': g,
        'intermediate.qr': qr, 'intermediate.kr': kr,
        'intermediate.parallel_retention_prenorm': pre, 'intermediate.parallel_retention_normed': normed, 'intermediate.gated': gated,
    }
    return t, outputs


# ------------------------------------------------------------------ 2. xPos

def xpos(x, scale_buffer, scale_base, offset, downscale):
    """x [N, L, D]: x * dup(cos * zeta) + rotate_every_two(x) * dup(sin * zeta), last L rows of L + offset."""
    length = x.shape[1]
    total = length + offset
    min_pos = -total // 2  # Python floor division of the negated length
    max_pos = total + min_pos
    zeta = scale_buffer[None, :] ** (np.arange(min_pos, max_pos)[:, None] / scale_base)
    half = x.shape[2] // 2
    i = np.arange(total)[:, None]
    inv_freq = 10000.0 ** (-np.arange(half) / half)
    sin, cos = np.sin(i * inv_freq), np.cos(i * inv_freq)
    zeta, sin, cos = zeta[-length:], sin[-length:], cos[-length:]
    if downscale:
        zeta = 1.0 / zeta
    return x * dup(cos * zeta) + rotate_every_two(x) * dup(sin * zeta), zeta, sin, cos


def xpos_case(cfg, w, inputs):
    q, k = inputs['q'], inputs['k']
    sb, base = w['scale_buffer'], cfg['scale_base']
    q_up, zeta, sin, cos = xpos(q, sb, base, 0, False)
    k_down = xpos(k, sb, base, 0, True)[0]
    return {
        'q_upscale': q_up, 'k_downscale': k_down,
        'q_downscale': xpos(q, sb, base, 0, True)[0], 'k_upscale': xpos(k, sb, base, 0, False)[0],
        'decode.q_last_upscale_offset': xpos(inputs['decode.q_last'], sb, base, int(inputs['decode.offset']), False)[0],
        'qk_logits(q_upscale@k_downscale^T)': q_up @ k_down.transpose(0, 2, 1),
        'table.scale_pow[L,D/2]': zeta, 'table.sin[L,D/2]': sin, 'table.cos[L,D/2]': cos,
    }


# ------------------------------------------------------------------ 3. Differential attention

def lambda_init(depth):
    return 0.8 - 0.6 * math.exp(-0.3 * depth)


def diffattn(cfg, w, x, cos, sin):
    b, length, e = x.shape
    h, kvh = cfg['num_heads'], cfg['num_kv_heads']
    d, rep = e // h // 2, h // kvh
    q = linear(x, w['q_proj.weight']).reshape(b, length, 2 * h, d)
    k = linear(x, w['k_proj.weight']).reshape(b, length, 2 * kvh, d)
    v = linear(x, w['v_proj.weight']).reshape(b, length, kvh, 2 * d)
    q = rope(q.transpose(0, 2, 1, 3), cos, sin)  # [B, 2H, L, d]
    k = np.repeat(rope(k.transpose(0, 2, 1, 3), cos, sin), rep, axis=1)  # kv heads repeated (repeat_interleave)
    v = np.repeat(v.transpose(0, 2, 1, 3), rep, axis=1)  # [B, H, L, 2d]
    s = (q * d ** -0.5) @ k.transpose(0, 1, 3, 2)
    s = np.where(np.tril(np.ones((length, length), dtype=bool)), s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    p = (p / p.sum(-1, keepdims=True)).reshape(b, h, 2, length, length)
    init = lambda_init(cfg['depth'])
    lam = math.exp(float(np.sum(w['lambda_q1'] * w['lambda_k1']))) - math.exp(float(np.sum(w['lambda_q2'] * w['lambda_k2']))) + init
    a = p[:, :, 0] - lam * p[:, :, 1]  # [B, H, L, L]
    pre = a @ v
    post = rms_norm(pre, cfg['subln_eps'], w['subln.weight'])
    o = (post * (1 - init)).transpose(0, 2, 1, 3).reshape(b, length, e)
    return {
        'output': linear(o, w['out_proj.weight']),
        'intermediate.lambda_full': np.array(lam), 'intermediate.diff_attn_map': a,
        'intermediate.attn_pre_subln': pre, 'intermediate.attn_post_subln': post, 'intermediate.out_proj_input': o,
    }


# ------------------------------------------------------------------ 4. YOCO gated retention

def gate_retention(cfg, w, x, cos, sin):
    b, length, dim = x.shape
    h = cfg['n_self_heads']
    hd = dim // h
    heads = lambda z: z.reshape(b, length, h, hd).transpose(0, 2, 1, 3)  # [B, H, L, hd]
    q = rope(heads(linear(x, w['q_proj.weight'])), cos, sin)
    k = rope(heads(linear(x, w['k_proj.weight'])), cos, sin) * hd ** -0.5
    v = heads(linear(x, w['v_proj.weight']))
    g = linear(x, w['g_proj.weight'])
    gt = linear(x, w['gt_proj.weight'])  # [B, L, H]
    log_decay = (-np.logaddexp(0, -gt) / cfg['gate_logit_normalizer']).transpose(0, 2, 1)  # logsigmoid / 16: [B, H, L]

    def finish(o):
        return linear(silu(g) * rms_norm(o, cfg['norm_eps']).transpose(0, 2, 1, 3).reshape(b, length, dim), w['out_proj.weight'])

    # parallel: o_n = sum_{m <= n} exp(G_n - G_m) (q_n . k_m) v_m, G = cumsum of the log-decay
    cum = np.cumsum(log_decay, axis=-1)
    causal = np.tril(np.ones((length, length), dtype=bool))
    decay = np.where(causal, np.exp(np.where(causal, cum[..., :, None] - cum[..., None, :], 0)), 0)
    pre = ((q @ k.transpose(0, 1, 3, 2)) * decay) @ v

    # recurrent: S_n = exp(a_n) S_{n-1} + k_n^T v_n, o_n = q_n S_n, from the state after `start` tokens
    def recurrent(start, state):
        outs = []
        for n in range(start, length):
            state = np.exp(log_decay[:, :, n, None, None]) * state + k[:, :, n, :, None] * v[:, :, n, None, :]
            outs.append(np.einsum('bhk,bhkv->bhv', q[:, :, n], state))
        return np.stack(outs, axis=2) if outs else np.zeros((b, h, 0, hd))

    prefill = cfg['prefill_len']
    # the state after the prefill, from the parallel sums: S = sum_m exp(G_{p-1} - G_m) k_m^T v_m
    w_pref = np.exp(cum[..., prefill - 1, None] - cum[..., :prefill])  # [B, H, p]
    state = np.einsum('bhm,bhmk,bhmv->bhkv', w_pref, k[:, :, :prefill], v[:, :, :prefill])
    prefilled = np.concatenate([pre[:, :, :prefill], recurrent(prefill, state)], axis=2)
    parallel = finish(pre)
    return {
        'output': parallel, 'output_chunk4': parallel, 'output_parallel': parallel,
        'output_recurrent': finish(recurrent(0, np.zeros((b, h, hd, hd)))),
        'output_prefill_then_recurrent': finish(prefilled),
        'intermediate.log_decay_gt': log_decay, 'intermediate.retention_pre_subln': pre,
    }


# ------------------------------------------------------------------ the cases

def uniform(rng, out, inp, bound):
    return rng.uniform(-bound, bound, size=(out, inp))


def xavier(rng, out, inp, gain):
    return uniform(rng, out, inp, gain * math.sqrt(6.0 / (inp + out)))


def default_linear(rng, out, inp):
    """nn.Linear's default init: U(-1/sqrt(in), 1/sqrt(in))."""
    return uniform(rng, out, inp, 1 / math.sqrt(inp))


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def retnet_case(name, scale):
    rng = np.random.default_rng(SEED)
    b, length, e, dv, h, chunk = 2, 7, 16, 32, 2, 4
    w = {
        'q_proj.weight': xavier(rng, e, e, 2 ** -2.5), 'k_proj.weight': xavier(rng, e, e, 2 ** -2.5),
        'v_proj.weight': xavier(rng, dv, e, 2 ** -2.5), 'g_proj.weight': xavier(rng, dv, e, 2 ** -2.5),
        'out_proj.weight': xavier(rng, e, dv, 2 ** -1),
    }
    w = {k: f32(v) for k, v in w.items()}
    x = f32(scale * rng.standard_normal((b, length, e)))
    cfg = {'seed': SEED, 'batch': b, 'seq_len': length, 'embed_dim': e, 'value_dim': dv, 'num_heads': h, 'key_dim': e // h,
           'head_dim': dv // h, 'scaling': (e // h) ** -0.5, 'gate_fn': 'swish (silu)', 'layernorm_eps': 1e-6,
           'group_norm': 'RMSNorm(head_dim, eps=1e-6, no affine weight)', 'recurrent_chunk_size': chunk,
           'chunk_padded_len': -(-length // chunk) * chunk, 'multiway': False, 'dtype': 'float32', 'input_scale': scale}
    tables, outputs = retnet_msr(cfg, w, x)
    mean_square = np.mean(outputs['intermediate.parallel_retention_prenorm'] ** 2, axis=-1)  # how much eps matters
    cfg.update(prenorm_mean_square_min=float(np.float32(mean_square.min())), prenorm_mean_square_max=float(np.float32(mean_square.max())))
    return case(name, cfg, w, {'x': x, **tables}, outputs, 'README.md section 1 (RetNet MultiScaleRetention)')


def xpos_fixture():
    rng = np.random.default_rng(SEED)
    n, length, d, base = 2, 10, 8, 512
    sb = (np.arange(0, d, 2) + 0.4 * d) / (1.4 * d)
    q = f32(rng.standard_normal((n, length, d)))
    k = f32(rng.standard_normal((n, length, d)))
    inputs = {'q': q, 'k': k, 'decode.q_last': q[:, -1:], 'decode.offset': np.array(length - 1)}
    cfg = {'seed': SEED, 'num_sequences(bsz*heads)': n, 'seq_len': length, 'head_dim': d, 'scale_base': base,
           'min_pos(offset0)': -length // 2, 'max_pos(offset0)': length - length // 2, 'dtype': 'float32'}
    w = {'scale_buffer': f32(sb)}
    return case('xpos', cfg, w, inputs, xpos_case(cfg, w, inputs), 'README.md section 2 (xPos)')


def diffattn_case(name, depth, kvh):
    rng = np.random.default_rng(SEED)
    b, length, e, h = 2, 9, 32, 2
    d = e // h // 2
    w = {
        'q_proj.weight': default_linear(rng, e, e), 'k_proj.weight': default_linear(rng, e // (h // kvh), e),
        'v_proj.weight': default_linear(rng, e // (h // kvh), e), 'out_proj.weight': default_linear(rng, e, e),
        'lambda_q1': 0.1 * rng.standard_normal(d), 'lambda_k1': 0.1 * rng.standard_normal(d),
        'lambda_q2': 0.1 * rng.standard_normal(d), 'lambda_k2': 0.1 * rng.standard_normal(d),
        'subln.weight': 1 + 0.1 * rng.standard_normal(2 * d),
    }
    w = {k: f32(v) for k, v in w.items()}
    x = f32(rng.standard_normal((b, length, e)))
    cos, sin, angle = rope_tables(length, d // 2)
    cfg = {'seed': SEED, 'batch': b, 'seq_len': length, 'embed_dim': e, 'num_heads': h, 'num_kv_heads': kvh, 'n_rep': h // kvh,
           'head_dim': d, 'depth': depth, 'lambda_init': lambda_init(depth), 'scaling': d ** -0.5, 'subln_eps': 1e-5,
           'rope_theta': 10000.0, 'causal': True, 'dtype': 'float32'}
    inputs = {'x': x, 'rel_pos.cos': f32(cos), 'rel_pos.sin': f32(sin), 'rel_pos.angle': f32(angle)}
    return case(name, cfg, w, inputs, diffattn(cfg, w, x, inputs['rel_pos.cos'], inputs['rel_pos.sin']), 'README.md section 3 (Differential attention)')


def yoco_case():
    rng = np.random.default_rng(SEED)
    b, length, dim, h = 2, 8, 32, 2
    hd = dim // h
    w = {n: default_linear(rng, dim, dim) for n in ['q_proj.weight', 'k_proj.weight', 'v_proj.weight', 'g_proj.weight']}
    w['gt_proj.weight'] = default_linear(rng, h, dim)
    w['out_proj.weight'] = default_linear(rng, dim, dim)
    w = {k: f32(v) for k, v in w.items()}
    x = f32(rng.standard_normal((b, length, dim)))
    cos, sin, angle = rope_tables(length, hd // 2)
    cfg = {'seed': SEED, 'batch': b, 'seq_len': length, 'dim': dim, 'n_self_heads': h, 'head_dim': hd, 'gate_logit_normalizer': 16,
           'norm_eps': 1e-5, 'rope_theta': 10000.0, 'model_parallel_size': 1, 'chunk_size_module': 256, 'chunk_size_small_check': 4,
           'prefill_len': 5, 'dtype': 'float32'}
    inputs = {'x': x, 'rel_pos.cos': f32(cos), 'rel_pos.sin': f32(sin), 'rel_pos.angle': f32(angle)}
    return case('yoco_gate_retention', cfg, w, inputs, gate_retention(cfg, w, x, inputs['rel_pos.cos'], inputs['rel_pos.sin']), 'README.md section 4 (YOCO gated retention)')


def case(name, cfg, weights, inputs, outputs, formula):
    return {
        'case': name,
        'reference': f'tools/golden/generate.py (NumPy float64, stored as float32): the formulas of {formula}',
        'config': cfg,
        'weights': {k: arr(v) for k, v in weights.items()},
        'inputs': {k: arr(v) for k, v in inputs.items()},
        'outputs': {k: arr(v) for k, v in outputs.items()},
        'notes': f'Generated from {formula}; same case, configuration, names and shapes as the official vectors, other weights (seed {SEED}).',
    }


def arr(a):
    """{shape, data}: row-major, each value the shortest decimal that round-trips to its float32."""
    a = np.asarray(a, dtype=np.float32)
    return {'shape': list(a.shape), 'data': [float(str(v)) for v in a.reshape(-1)]}


FIXTURES = {
    'retnet_msr.json': lambda: retnet_case('retnet_msr', 1.0),
    'retnet_msr_x10.json': lambda: retnet_case('retnet_msr_x10', 10.0),
    'xpos.json': xpos_fixture,
    'diffattn_depth1.json': lambda: diffattn_case('diffattn', 1, 2),
    'diffattn_depth3.json': lambda: diffattn_case('diffattn', 3, 2),
    'diffattn_gqa.json': lambda: diffattn_case('diffattn_gqa', 1, 1),
    'yoco_gate_retention.json': yoco_case,
}


# ------------------------------------------------------------------ checking against the official vectors

def load(a):
    return np.asarray(a['data'], dtype=np.float32).astype(np.float64).reshape(a['shape'])


def recompute(c):
    """Our outputs (and rel-pos tables) for a case file, from its own config, weights and inputs."""
    cfg, w, i = c['config'], {k: load(v) for k, v in c['weights'].items()}, {k: load(v) for k, v in c['inputs'].items()}
    name = c['case']
    if name.startswith('retnet_msr'):
        tables, outputs = retnet_msr(cfg, w, i['x'])
        return {**outputs, **{f'inputs.{k}': v for k, v in tables.items()}}
    if name.startswith('xpos'):
        return xpos_case(cfg, w, i)
    if name.startswith('diffattn'):
        cos, sin, angle = rope_tables(cfg['seq_len'], cfg['head_dim'] // 2)
        return {**diffattn(cfg, w, i['x'], i['rel_pos.cos'], i['rel_pos.sin']), 'inputs.rel_pos.cos': cos, 'inputs.rel_pos.sin': sin, 'inputs.rel_pos.angle': angle}
    if name.startswith('yoco_gate_retention'):
        cos, sin, angle = rope_tables(cfg['seq_len'], cfg['head_dim'] // 2)
        return {**gate_retention(cfg, w, i['x'], i['rel_pos.cos'], i['rel_pos.sin']), 'inputs.rel_pos.cos': cos, 'inputs.rel_pos.sin': sin, 'inputs.rel_pos.angle': angle}
    raise SystemExit(f'unknown case {name}')


def check(directory):
    failed = 0
    names = sorted(n for n in os.listdir(directory) if n.endswith('.json'))
    if not names:
        raise SystemExit(f'no case files in {directory}')
    for n in names:
        with open(os.path.join(directory, n)) as fh:
            c = json.load(fh)
        ours = recompute(c)
        for key, value in ours.items():
            ref_arr = c['inputs'][key[len('inputs.'):]] if key.startswith('inputs.') else c['outputs'].get(key)
            if ref_arr is None:
                continue
            ref = load(ref_arr)
            err = float(np.max(np.abs(np.asarray(value, dtype=np.float64).reshape(ref.shape) - ref))) if ref.size else 0.0
            tol = 2e-5 * max(1.0, float(np.max(np.abs(ref))) if ref.size else 1.0)
            ok = err <= tol
            failed += not ok
            print(f'{n:26} {key:40} max|err| {err:9.2e}  tol {tol:.2e}  {"ok" if ok else "FAIL"}')
    print(f'{failed} failed')
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'golden'))
    ap.add_argument('--check', metavar='DIR', help='recompute the outputs of the case files in DIR and compare')
    args = ap.parse_args()
    if args.check:
        sys.exit(check(args.check))
    os.makedirs(args.out, exist_ok=True)
    for name, make in FIXTURES.items():
        with open(os.path.join(args.out, name), 'w') as fh:
            json.dump(make(), fh)
            fh.write('\n')
    print(f'wrote {len(FIXTURES)} case files to {os.path.normpath(args.out)}')


if __name__ == '__main__':
    main()
