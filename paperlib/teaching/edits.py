"""Running the method for what the notebooks show: one face of a profile's ``Setup``
(:func:`edit_face`) and the faces of Figures 2-4 (:func:`figure2_faces`, ...), which
:mod:`paperlib.teaching.figures` then draws::

    fig, numbers = figures.figure2(edits.figure2_faces(setup, rows, authors_code))
"""

from __future__ import annotations

from typing import Sequence

from .figures import FaceRow, FigureFaces

#: The mask variants of Figures 2 and 4 (EOGI's Diff-CAM and Diff-CAM++), before the authors' code.
FIGURE_VARIANTS: tuple[str, ...] = ("Diff-CAM", "Diff-CAM++")


def edit_face(setup, index: int, attribute: str, variants: Sequence = FIGURE_VARIANTS, alpha: float = 20.0):
    """Run the method on face ``index`` of a :class:`paperlib.profiles.Setup` for ``attribute``
    and keep every intermediate tensor (a :class:`paperlib.method.pipeline.BatchEdit`)."""
    from ..method.pipeline import edit_variants

    source = setup.load_sources([index])
    parsing = setup.source_parsing([index], source) if setup.source_parsing else None
    return edit_variants(setup.components, source, attribute, tuple(variants), alpha=alpha, parsing_source=parsing)


def figure_faces(setup, rows: Sequence[tuple[int, str]], variants: Sequence, baselines: bool = False) -> FigureFaces:
    """The method's ``variants`` on each ``(face index, attribute)`` of ``rows`` (:func:`edit_face`) and,
    with ``baselines``, each of the setup's baselines (e4e, ReStyle; None where it has none) on the
    same source."""
    from ..evaluation.judges import shown_judge

    out = []
    judge = shown_judge(setup)
    for index, attribute in rows:
        e = edit_face(setup, index, attribute, variants)
        done = ({m: (setup.baselines[m](e.source, attribute)[0] if m in setup.baselines else None)
                 for m in ("e4e", "ReStyle")} if baselines else {})
        out.append(FaceRow(index, attribute, e, done, face_kept(setup, index, attribute, e, done, judge)))
    return FigureFaces(out, tuple(variants), setup.profile, bool(getattr(setup, "random_weights", False)), judge)


def face_kept(setup, index: int, attribute: str, e, baselines: dict, judge: str, alpha: float = 20.0) -> dict:
    """The edit kept by ``judge`` (:mod:`paperlib.evaluation.judges`) of every output of one face: pSp's
    ``T``, each variant's output, each baseline's (None where a judge gives none)."""
    from ..evaluation.judges import judge_outputs

    outputs = {"pSp": e.edited, **{v: o for v, o in e.outputs.items()},
               **{m: b[None] for m, b in baselines.items() if b is not None}}
    kept = judge_outputs(setup, [index], e, e.edited, outputs, attribute, alpha)
    return {k: v[f"kept:{judge}"][0] for k, v in kept.items()}


def _with_authors(authors_code: bool) -> tuple:
    from ..method.pipeline import AUTHORS_CODE

    return FIGURE_VARIANTS + ((AUTHORS_CODE,) if authors_code else ())


def figure2_faces(setup, rows: Sequence[tuple[int, str]], authors_code: bool = False) -> FigureFaces:
    """What :func:`paperlib.teaching.figures.figure2` draws: Diff-CAM and Diff-CAM++ (and with
    ``authors_code`` the authors' released scripts) on each ``(face index, attribute)``."""
    return figure_faces(setup, rows, _with_authors(authors_code))


def figure3_faces(setup, rows: Sequence[tuple[int, str]]) -> FigureFaces:
    """What :func:`paperlib.teaching.figures.figure3` draws: the ablation's variants
    (:data:`paperlib.method.pipeline.FIGURE3_VARIANTS`) on each ``(face index, attribute)``."""
    from ..method.pipeline import FIGURE3_VARIANTS

    return figure_faces(setup, rows, FIGURE3_VARIANTS)


def figure4_faces(setup, rows: Sequence[tuple[int, str]], authors_code: bool = False) -> FigureFaces:
    """What :func:`paperlib.teaching.figures.figure4` draws: as :func:`figure2_faces`, and the setup's
    baselines on the same sources."""
    return figure_faces(setup, rows, _with_authors(authors_code), baselines=True)


__all__ = ["FIGURE_VARIANTS", "edit_face", "figure_faces", "figure2_faces", "figure3_faces", "figure4_faces"]
