"""The first-run training message of the synthetic classifier: one friendly line on stdout, no local path."""


def test_training_message_is_calm_on_stdout_without_a_local_path(tmp_path, monkeypatch, capsys):
    from paperlib.infra.paths import project_root
    from paperlib.profiles import synthetic

    path = project_root() / "runs" / "diffnet-synthetic" / "diffnet.pt"
    text = synthetic.training_message(path)
    assert "runs/diffnet-synthetic/" in text and str(project_root()) not in text and "min" in text
    assert "no trained" not in text and "\n" not in text
    elsewhere = synthetic.training_message(tmp_path / "x" / "diffnet.pt")
    assert str(tmp_path) not in elsewhere

    calls = {}
    monkeypatch.setattr(synthetic, "default_classifier", lambda: tmp_path / "missing" / "diffnet.pt")
    monkeypatch.setattr(synthetic, "train_classifier", lambda **kw: calls.update(kw) or (_ for _ in ()).throw(
        RuntimeError("stop")))
    try:
        synthetic.load_classifier(progress=True)
    except RuntimeError:
        pass
    out, err = capsys.readouterr()
    assert "training the small synthetic classifier" in out and err == "" and str(tmp_path) not in out
    assert calls["progress"] is True
