"""Measuring the method: ``evaluate`` (Tables 1-3 over a profile's photos, resumable, torchrun),
``leaderboard`` (every CAM against SynthFace's ground truth), ``metrics`` (MAE, LPIPS, FID),
``methods`` (the tables' rows), ``tables`` (CSV/JSON/Markdown), ``published`` (the paper's numbers),
``cache`` (the per-image cache), ``regen_check`` (regenerated numbers against committed ones)."""
