# PyTorch cross-check on archbench's own MQAR episodes (dumped by dump.ts): ../shared/peer's model with the
# loss on the answers only. Usage: python3 torch_mqar.py LAYERS LR SEED [DIR]; prints step, loss, accuracy
# (teacher-forced argmax at each answer, on the held-out test-side episodes) every 100 steps.
import math, sys, numpy as np, torch, torch.nn.functional as F
torch.set_num_threads(2); torch.manual_seed(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
L = int(sys.argv[1]) if len(sys.argv) > 1 else 4
lr = float(sys.argv[2]) if len(sys.argv) > 2 else 1e-3
DIR = sys.argv[4] if len(sys.argv) > 4 else '/tmp/archbench-crosscheck'
V, D, H, T, B, STEPS = 256, 128, 4, 64, 16, 800
DH = D // H; FF = int(math.ceil(8 * D / 3 / 16) * 16)
tok = torch.from_numpy(np.fromfile(f'{DIR}/train_tokens.bin', dtype=np.int32).astype(np.int64)).view(STEPS, B, T + 1)
msk = torch.from_numpy(np.fromfile(f'{DIR}/train_mask.bin', dtype=np.float32)).view(STEPS, B, T)
ev = torch.from_numpy(np.fromfile(f'{DIR}/eval_tokens.bin', dtype=np.int32).astype(np.int64)).view(-1, T)
q = np.fromfile(f'{DIR}/eval_queries.bin', dtype=np.int32).reshape(-1, 3)
def rms(x, w, eps=1e-6): return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w
inv = 1.0 / (10000 ** (torch.arange(0, DH, 2).float() / DH)); ang = torch.outer(torch.arange(T).float(), inv); COS, SIN = ang.cos(), ang.sin()
def rope(x):
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x1 * COS - x2 * SIN, x1 * SIN + x2 * COS), -1).flatten(-2)
class Block(torch.nn.Module):
    def __init__(s):
        super().__init__(); s.n1 = torch.nn.Parameter(torch.ones(D)); s.n2 = torch.nn.Parameter(torch.ones(D))
        s.qkv = torch.nn.Linear(D, 3 * D, bias=False); s.o = torch.nn.Linear(D, D, bias=False)
        s.gate_up = torch.nn.Linear(D, 2 * FF, bias=False); s.down = torch.nn.Linear(FF, D, bias=False)
    def forward(s, x, mask):
        b = x.shape[0]
        q, k, v = s.qkv(rms(x, s.n1)).view(b, T, 3, H, DH).permute(2, 0, 3, 1, 4)
        att = torch.softmax(rope(q) @ rope(k).transpose(-1, -2) / math.sqrt(DH) + mask, -1)
        x = x + s.o((att @ v).transpose(1, 2).reshape(b, T, D))
        g, u = s.gate_up(rms(x, s.n2)).chunk(2, -1)
        return x + s.down(F.silu(g) * u)
class LM(torch.nn.Module):
    def __init__(s):
        super().__init__(); s.emb = torch.nn.Embedding(V, D); s.blocks = torch.nn.ModuleList([Block() for _ in range(L)])
        s.nf = torch.nn.Parameter(torch.ones(D)); s.head = torch.nn.Linear(D, V, bias=False)
        s.register_buffer("mask", torch.triu(torch.full((T, T), float("-inf")), 1))
    def forward(s, idx):
        x = s.emb(idx)
        for b in s.blocks: x = b(x, s.mask)
        return s.head(rms(x, s.nf))
m = LM(); opt = torch.optim.AdamW(m.parameters(), lr=lr, weight_decay=0.1)
def evaluate():
    with torch.no_grad():
        pred = m(ev).argmax(-1)
    return sum(int(pred[i, s - 1] == a) for i, s, a in q) / len(q)
for step in range(STEPS):
    x, y, w = tok[step, :, :-1], tok[step, :, 1:], msk[step]
    nll = F.cross_entropy(m(x).reshape(-1, V), y.reshape(-1), reduction='none').view(B, T)
    loss = (nll * w).sum() / w.sum().clamp(min=1)
    opt.zero_grad(); loss.backward(); opt.step()
    if (step + 1) % 100 == 0: print(step + 1, round(loss.item(), 4), round(evaluate(), 4), flush=True)
