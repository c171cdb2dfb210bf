"""What the notebooks show: ``notebook`` (one function per notebook cell, parameters, sidecars),
``edits`` (running the method for them: one face, the faces of Figures 2-4), ``figures`` (drawing
Figures 2-4 and panels from computed results), ``walkthrough`` (the method step by step),
``explorer`` (the widget explorer and the photo upload), ``cam_layers`` (the CAM-layer choice),
``reproduce`` (every notebook in order under papermill)."""
