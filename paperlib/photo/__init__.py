"""Your own photo: ``io`` (read any photo: EXIF, modes, size limit), ``align`` (dlib detection,
68 landmarks, the FFHQ alignment and paste-back), ``align_report`` (alignment accuracy),
``edit`` (align -> the method -> paste back, the ``edit`` command)."""
