"""Stage 5: the preview decoder learns to imitate the VAE's decoder, the live thumbnail's job.

Mid-run the preview shows x0 estimates, which are blends of pictures and carry some noise, not
clean latents; so half the training latents are mixed and noised, and the target is always what
the VAE itself decodes from them.
"""

from __future__ import annotations

import torch

from ...preview import decode, encode, small_decoder
from .shapes import batch
from .train_vae import to_tensor


@torch.no_grad()
def _examples(vae, seed: int, batches: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    latents, images = [], []
    for i in range(batches):
        x = encode(vae, to_tensor(batch(64, seed * 7919 + i)[0])).float()
        mix = torch.rand(64, 1, 1, 1, generator=g) * (torch.rand(64, 1, 1, 1, generator=g) < 0.5)
        x = (1 - mix) * x + mix * x.roll(1, dims=0)
        x += torch.randn(x.shape, generator=g) * 0.3 * torch.rand(64, 1, 1, 1, generator=g)
        latents.append(x)
        images.append(decode(vae, x).float())
    return torch.cat(latents), torch.cat(images)


def train_preview(vae, seed: int, steps: int, log) -> torch.nn.Module:
    torch.manual_seed(seed)
    latents, images = _examples(vae, seed, batches=16)
    held_latents, held_images = _examples(vae, seed + 1, batches=1)
    net = small_decoder()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    g = torch.Generator().manual_seed(seed)
    for step in range(steps):
        index = torch.randint(0, len(latents), (64,), generator=g)
        loss = (net(latents[index]) - images[index]).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 500 == 0 or step == steps - 1:
            with torch.no_grad():
                held = (net(held_latents).clamp(-1, 1) - held_images).abs().mean() * 127.5
            log(f"preview step {step}/{steps} loss {loss.item():.4f}, held-out error {held:.1f}/255")
    return net.eval()
