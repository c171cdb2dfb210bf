"""Your own photo: ``align`` (dlib detection,
68 landmarks, the FFHQ alignment and paste-back), ``align_report`` (alignment accuracy),
``edit`` (align -> the method -> paste back, the ``edit`` command)."""
