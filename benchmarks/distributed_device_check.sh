#!/bin/bash
# Device check: NCCL path of paperlib.infra.distributed, then 1 vs 2 CPU processes on a 16-core machine.
# Run from the repository root on a machine with one CUDA GPU: bash benchmarks/distributed_device_check.sh
ls paperlib/distributed.py > /dev/null || { echo "paperlib/distributed.py missing: run on a checkout with the torchrun support"; exit 3; }
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
PY=python3
nvidia-smi -L; $PY -c "import torch; print(torch.__version__, torch.cuda.device_count())"; nproc
echo "== nccl, 1 process"; timeout 120 $PY -m torch.distributed.run --standalone --nproc_per_node 1 benchmarks/distributed_nccl_check.py 2>&1 | grep -v "^\*\*\*\|OMP_NUM"
echo "== nccl, 2 processes on 1 GPU (expect the one-line refusal)"; timeout 120 $PY -m torch.distributed.run --standalone --nproc_per_node 2 benchmarks/distributed_nccl_check.py 2>&1 | grep -i "rank\|error" | head -8
W=/tmp/w; mkdir -p $W
$PY -c "
import torch, json
from paperlib.method.diffnet import DiffNet
torch.manual_seed(0); torch.save(DiffNet(7,'resnet18').state_dict(), '$W/diffnet.pt')
json.dump({'arch':'resnet18','n_classes':7}, open('$W/diffnet.json','w'))" || exit 1
export PAPERLIB_ROOT=$W
A="--profile synthetic --n-images 32 --batch 4 --attributes Smiling --classifier $W/diffnet.pt --quiet"
echo "== cpu, 1 process"; t=$(date +%s.%N); $PY -m paperlib evaluate $A --out $W/one 2>&1 | grep -v "^wrote"; echo "wall $(echo "$(date +%s.%N) - $t" | python3 -c "import sys; print(round(eval(sys.stdin.read()),1))") s"
for n in 2 4; do
echo "== cpu, $n processes"; t=$(date +%s.%N); $PY -m torch.distributed.run --standalone --nproc_per_node $n -m paperlib evaluate $A --out $W/p$n 2>&1 | grep -v "^wrote\|^\*\*\*\|OMP_NUM"; echo "wall $(echo "$(date +%s.%N) - $t" | python3 -c "import sys; print(round(eval(sys.stdin.read()),1))") s"
for f in table2_mae.csv tables.md localization.csv; do cmp $W/one/$f $W/p$n/$f && echo "same $f"; done
done
