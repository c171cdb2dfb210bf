"""Infrastructure every layer above uses: ``paths`` (the project root), ``provenance`` (commit,
versions, hashes), ``locks`` (exclusive run folders), ``files`` (atomic writes), ``images`` (reading any photo: EXIF, modes, size limit), ``assets`` and
``download`` (the official weights' registry, verified downloads), ``doctor`` (what is installed
and cached), ``distributed`` (torchrun ranks and shards)."""
