"""Device check of paperlib.infra.distributed on CUDA (run under torchrun)."""
import os
import sys
import tempfile

import torch

from paperlib.infra.distributed import init, main_lock, shard

try:
    dist = init("cuda")
except ValueError as err:
    print(f"rank {os.environ['RANK']}: ValueError: {err}")
    sys.exit(2)
print(f"rank {dist.rank}/{dist.world_size} local {dist.local_rank} backend {dist.backend} "
      f"device {dist.device('cuda')} current {torch.cuda.current_device()}")
x = torch.ones(3, device=dist.device("cuda")) * (dist.rank + 1)
torch.distributed.all_reduce(x)
print("nccl all_reduce", x.tolist())
print("gather", dist.gather({"rank": dist.rank}), "broadcast", dist.broadcast(f"from {dist.rank}"))
print("main_first", dist.main_first(lambda: dist.rank), "shard", shard(list(range(5)), dist))
folder = os.path.join(tempfile.gettempdir(), "nccl-check-lock")
with main_lock(dist, folder, "check"):
    dist.barrier()
    print("lock held by rank 0:", os.path.exists(os.path.join(folder, ".paperlib-lock.json")))
try:
    dist.device("cuda:0")
except ValueError as err:
    print("explicit index:", err)
dist.close()
print("closed", torch.distributed.is_initialized())
