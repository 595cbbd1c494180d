# The PyTorch peer Transformer (as in ../shared/peer/torch_lm.py) on CUDA: the yardstick for archbench on a
# GPU (copied from ../shared/peer/torch_lm_cuda.py so it travels with the checkout; tools/gpu-sitting.sh).
import argparse, json, math, time, statistics, torch, torch.nn.functional as F
p = argparse.ArgumentParser()
p.add_argument("--d", type=int, default=768); p.add_argument("--layers", type=int, default=12)
p.add_argument("--heads", type=int, default=12); p.add_argument("--seq", type=int, default=2048)
p.add_argument("--batch", type=int, default=8); p.add_argument("--steps", type=int, default=20)
p.add_argument("--mode", default="fp32", choices=["fp32", "tf32", "bf16"])
a = p.parse_args()
torch.backends.cuda.matmul.allow_tf32 = a.mode != "fp32"; torch.backends.cudnn.allow_tf32 = a.mode != "fp32"
dev = "cuda"; V, D, H, T, B = 256, a.d, a.heads, a.seq, a.batch; DH = D // H
FF = int(math.ceil(8 * D / 3 / 16) * 16)
def rms(x, w, eps=1e-6): return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w
inv = 1.0 / (10000 ** (torch.arange(0, DH, 2, device=dev).float() / DH))
ang = torch.outer(torch.arange(T, device=dev).float(), inv); COS, SIN = ang.cos(), ang.sin()
def rope(x):
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x1 * COS - x2 * SIN, x1 * SIN + x2 * COS), -1).flatten(-2)
class Block(torch.nn.Module):
    def __init__(s):
        super().__init__(); s.n1 = torch.nn.Parameter(torch.ones(D)); s.n2 = torch.nn.Parameter(torch.ones(D))
        s.qkv = torch.nn.Linear(D, 3 * D, bias=False); s.o = torch.nn.Linear(D, D, bias=False)
        s.gate_up = torch.nn.Linear(D, 2 * FF, bias=False); s.down = torch.nn.Linear(FF, D, bias=False)
    def forward(s, x):
        q, k, v = s.qkv(rms(x, s.n1)).view(B, T, 3, H, DH).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(rope(q), rope(k), v, is_causal=True)
        x = x + s.o(y.transpose(1, 2).reshape(B, T, D))
        g, u = s.gate_up(rms(x, s.n2)).chunk(2, -1)
        return x + s.down(F.silu(g) * u)
class LM(torch.nn.Module):
    def __init__(s):
        super().__init__(); s.emb = torch.nn.Embedding(V, D); s.blocks = torch.nn.ModuleList([Block() for _ in range(a.layers)])
        s.nf = torch.nn.Parameter(torch.ones(D)); s.head = torch.nn.Linear(D, V, bias=False)
    def forward(s, idx):
        x = s.emb(idx)
        for b in s.blocks: x = b(x)
        return s.head(rms(x, s.nf))
m = LM().to(dev); n_nonemb = sum(p.numel() for p in m.parameters()) - 2 * V * D
opt = torch.optim.AdamW(m.parameters(), lr=3e-4, weight_decay=0.1, fused=True)
times = []
for i in range(a.steps):
    xb = torch.randint(0, V, (B, T), device=dev)
    torch.cuda.synchronize(); t0 = time.perf_counter()
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=a.mode == "bf16"):
        loss = F.cross_entropy(m(xb).view(-1, V).float(), xb.view(-1))
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step(); torch.cuda.synchronize()
    times.append(time.perf_counter() - t0)
step = statistics.median(times[5:]); fpt = 6 * n_nonemb + 6 * D * V + 6 * a.layers * T * D
print(json.dumps({"peer": "pytorch-cuda", "torch": torch.__version__, "mode": a.mode, "config": [D, a.layers, H, T, B],
  "tokens_per_s": round(B * T / step), "model_tflops": round(B * T / step * fpt / 1e12, 1),
  "peak_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)}), flush=True)
