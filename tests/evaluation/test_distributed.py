"""``evaluate`` under torchrun (CPU, gloo, 2 processes): the tables of one process, a killed rank
resumed from the cache, a busy folder refused; the leaderboard under torchrun; and the sharding helpers.

Each start of Python with torch costs ~6 s of CPU, more than the work: the single-process references of
``evaluate`` and ``leaderboard`` run in one process, and the synthetic setup's seeded fits are made once
(``$PAPERLIB_FIT_CACHE``) and loaded by the ranks of every launch but the first, whose ranks fit on their own
(so that a fit that differed between processes would still show)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from paperlib.infra.distributed import Dist, init, main_lock, shard
from paperlib.infra.locks import folder_lock

N, BATCH, ATTR = 8, 2, "Smiling"  # 4 chunks: rank 0 computes chunks 0 and 2, rank 1 chunks 1 and 3
METHODS = ("psp", "e4e", "eogi", "diff-cam-pp")
TABLES = ("table1_lpips.csv", "table2_mae.csv", "table3_fid.csv", "tables.md", "localization.csv", "localization.md")
JSONS = ("table1_lpips.json", "table2_mae.json", "table3_fid.json", "localization.json")


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A folder with a cheap (untrained) classifier and the environment of the runs."""
    from paperlib.method.diffnet import DiffNet

    root = tmp_path_factory.mktemp("dist")
    torch.manual_seed(0)
    torch.save(DiffNet(7, "resnet18").state_dict(), root / "diffnet.pt")
    (root / "diffnet.json").write_text(json.dumps({"arch": "resnet18", "n_classes": 7}))
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["PAPERLIB_ROOT"] = str(root)
    # one thread per process, as torchrun gives its ranks: the single-process reference is then not slowed
    # down many times on a busy 2-core machine (its tables are the same with 2 threads: see the README)
    env["OMP_NUM_THREADS"] = "1"
    # the synthetic setup's seeded fits (inverter, e4e / ReStyle analogues, directions: 5 s a process) are made
    # once, by the single-process reference, and every torchrun rank loads them (paperlib.synth.inverter.fitted)
    env["PAPERLIB_FIT_CACHE"] = str(root / "fits")
    return root, env


def _args(root, out):
    return ["evaluate", "--profile", "synthetic", "--n-images", str(N), "--batch", str(BATCH), "--attributes", ATTR,
            "--methods", *METHODS, "--classifier", str(root / "diffnet.pt"), "--out", str(out), "--quiet"]


def _torchrun(root, out, env, **popen):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "paperlib",
           *_args(root, out)]
    return subprocess.Popen(cmd, env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **popen)


def _leaderboard_args(root, out):
    return ["leaderboard", "--profile", "synthetic", "--n-images", "2", "--batch", "1",
            "--classifier", str(root / "diffnet.pt"), "--out", str(out), "--quiet"]


#: ``python -c SEQUENCE '[CMD1, CMD2]'`` (a JSON list of argument lists): ``paperlib.cli.main`` on each
#: command in turn, in one process (exit status: that of the first that fails).
SEQUENCE = ("import json, sys; from paperlib.cli import main; "
            "sys.exit(next((rc for rc in map(main, json.loads(sys.argv[1])) if rc), 0))")


@pytest.fixture(scope="module")
def reference(work):
    """The single-process runs, in one process (one start, one fitting of the setup): ``evaluate`` (same
    images, batch, methods as the torchrun launches) into single/, then ``leaderboard`` into lb-one/."""
    root, env = work
    commands = [_args(root, root / "single"), _leaderboard_args(root, root / "lb-one")]
    res = subprocess.run([sys.executable, "-c", SEQUENCE, json.dumps(commands)], env=env, cwd=root,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    return root / "single"


def _assert_same_tables(out, reference):
    for name in TABLES:
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name
    for name in JSONS:
        assert json.loads((out / name).read_text())["rows"] == json.loads((reference / name).read_text())["rows"]


def _provenance(out):
    return json.loads((out / "table2_mae.json").read_text())["provenance"]


def test_two_ranks_give_the_tables_of_one_process(work, reference):
    root, env = work
    out = root / "two"
    p = _torchrun(root, out, {k: v for k, v in env.items() if k != "PAPERLIB_FIT_CACHE"})  # each rank fits anew
    stdout, stderr = p.communicate(timeout=600)
    assert p.returncode == 0, stderr
    assert stdout.count("evaluate synthetic: 8 images on 2 processes; 4 batches computed, 0 from the cache") == 1
    _assert_same_tables(out, reference)
    prov = _provenance(out)
    assert prov["batches"] == {"computed": 4, "cached": 0}
    assert prov["distributed"]["world_size"] == 2 and prov["distributed"]["backend"] == "gloo"
    assert [r["computed"] for r in prov["distributed"]["ranks"]] == [2, 2]
    assert _provenance(reference)["distributed"]["world_size"] == 1


def _rank_process(launcher, rank: str, timeout: float = 120):
    import psutil

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for child in psutil.Process(launcher.pid).children(recursive=True):
            try:
                if child.environ().get("RANK") == rank:
                    return child
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        time.sleep(0.05)
    raise AssertionError(f"no rank {rank} process under torchrun")


def test_killed_rank_resumes_from_the_cache(work, reference):
    root, env = work
    out = root / "killed"
    p = _torchrun(root, out, env)
    rank1 = _rank_process(p, "1")
    records = out / "cache" / "chunks" / ATTR
    first = records / f"{BATCH:05d}-{2 * BATCH - 1:05d}.json"  # rank 1's first chunk
    end = time.monotonic() + 300
    while not first.exists() and p.poll() is None and time.monotonic() < end:
        time.sleep(0.02)
    assert first.exists()
    os.kill(rank1.pid, signal.SIGKILL)
    _, stderr = p.communicate(timeout=300)
    assert p.returncode != 0  # torchrun stops the job
    assert not (out / "table2_mae.csv").exists()
    done = len(list(records.glob("*.json")))
    assert 1 <= done < 4  # rank 1's second chunk is missing

    again = _torchrun(root, out, env)
    _, stderr = again.communicate(timeout=600)
    assert again.returncode == 0, stderr
    assert _provenance(out)["batches"] == {"computed": 4 - done, "cached": done}
    _assert_same_tables(out, reference)


def test_busy_folder_stops_every_rank_with_one_line(work):
    root, env = work
    out = root / "busy"
    with folder_lock(out, "test"):
        p = _torchrun(root, out, env)
        stdout, stderr = p.communicate(timeout=300)
    assert p.returncode != 0
    lines = [ln for ln in stderr.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1, stderr  # rank 0 prints the error every rank stops with
    assert lines[0].startswith(f"error: evaluate: {out.resolve()} is in use by process {os.getpid()} on ")
    assert lines[0].endswith("; wait for it to finish or use another folder")
    assert not list(out.glob("*.csv"))


def test_shard_is_deterministic_and_covers_every_item():
    items = list(range(11))
    parts = [shard(items, Dist(rank=r, world_size=3)) for r in range(3)]
    assert parts == [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8]]
    assert shard(items, Dist()) == items


def test_single_process_dist_outside_torchrun(tmp_path, monkeypatch):
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(k, raising=False)
    dist = init("cpu")
    assert (dist.rank, dist.world_size, dist.active, dist.is_main) == (0, 1, False, True)
    assert dist.device("cuda:1") == "cuda:1" and dist.gather(5) == [5] and dist.broadcast("x") == "x"
    calls = []
    assert dist.main_first(lambda: calls.append(1) or "done") == "done" and calls == [1]
    with pytest.raises(ValueError, match="bad"):
        dist.main_first(lambda: (_ for _ in ()).throw(ValueError("bad")))
    with main_lock(dist, tmp_path, "evaluate"):  # rank 0 of one holds the folder
        assert (tmp_path / ".paperlib-lock.json").is_file()
    with pytest.raises(ValueError, match=r"device: under torchrun each rank uses cuda:LOCAL_RANK"):
        Dist(backend="gloo").device("cuda:1")


def _torchrun_env(monkeypatch, **values):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(port), **values}
    for k, v in env.items():
        monkeypatch.setenv(k, v)


def test_init_under_torchrun_env_shares_the_cpus(monkeypatch, tmp_path):
    """One rank of a (pretend) two-process node: gloo, half the CPUs, the agreements go through."""
    _torchrun_env(monkeypatch)
    threads = torch.get_num_threads()
    dist = init("cpu")
    try:
        assert (dist.backend, dist.world_size, dist.active) == ("gloo", 1, True)
        assert torch.get_num_threads() == max(1, len(os.sched_getaffinity(0)) // 2)
        assert dist.gather({"a": 1}) == [{"a": 1}] and dist.broadcast([2]) == [2]
        with pytest.raises(ValueError, match="bad"):
            dist.main_first(lambda: (_ for _ in ()).throw(ValueError("bad")))
        with main_lock(dist, tmp_path, "evaluate"):
            dist.barrier()
    finally:
        dist.close()
        torch.set_num_threads(threads)
    assert not torch.distributed.is_initialized() and not dist.active


def test_init_refuses_a_rank_without_its_gpu(monkeypatch):
    _torchrun_env(monkeypatch, RANK="1", WORLD_SIZE="2", LOCAL_RANK="1")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match=r"^device: rank 1 needs cuda:1 but this node has 1 CUDA device\(s\); start "
                                         r"at most that many processes per node \(--nproc_per_node\)$"):
        init("cuda")
    assert not torch.distributed.is_initialized()


def test_leaderboard_under_torchrun_gives_the_scores_of_one_process(work, reference):
    """Every score of every combination is the same (the times per image are measured, so they differ)."""
    root, env = work
    launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "paperlib"]
    res = subprocess.run([sys.executable, *launcher, *_leaderboard_args(root, root / "lb-two")], env=env, cwd=root,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    one = json.loads((root / "lb-one" / "leaderboard.json").read_text())  # the reference's single process
    two = json.loads((root / "lb-two" / "leaderboard.json").read_text())
    assert res.stdout.count("leaderboard synthetic: 2 faces on 2 processes; 2 chunks computed, 0 from the cache") == 1

    def scores(doc):  # as JSON text: a NaN (a share without room between uniform and ceiling) equals itself
        return json.dumps([{k: v for k, v in r.items() if not k.startswith("time_ms")}
                           for r in doc["rows"] + doc["per_attribute"]])

    from paperlib.evaluation.leaderboard import combinations

    assert scores(two) == scores(one) and len(one["rows"]) == len(combinations())
    assert one["provenance"]["distributed"]["world_size"] == 1
    assert [r["computed"] for r in two["provenance"]["distributed"]["ranks"]] == [1, 1]
