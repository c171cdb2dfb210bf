"""What the notebooks show: ``notebook`` (one function per notebook cell, parameters, sidecars),
``figures`` (Figures 2-4 and panels), ``walkthrough`` (the method step by step and the explorer),
``cam_layers`` (the CAM-layer choice), ``reproduce`` (every notebook in order under papermill)."""
