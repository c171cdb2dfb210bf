import pytest
import torch

from paperlib.method.attributes import (ATTRIBUTES, CLASS_INDEX, EOGI17_INDEX, TABLE_ATTRIBUTES,
                                 class_index)
from paperlib.method.masks import (LABELS, MODIF_COMPONENTS, ORG_COMPONENTS, PAPER_COMPONENTS,
                            parsing_to_mask, segmentation_masks)


def test_attributes_and_indices():
    assert ATTRIBUTES == ("Beard", "Bushy_Eyebrows", "Eyeglasses", "Mouth_Open", "Narrow_Eyes", "Old", "Smiling")
    assert CLASS_INDEX == {"Beard": 0, "Bushy_Eyebrows": 1, "Eyeglasses": 2, "Mouth_Open": 3,
                           "Narrow_Eyes": 4, "Old": 5, "Smiling": 6}
    assert EOGI17_INDEX == {"Bushy_Eyebrows": 6, "Eyeglasses": 7, "Mouth_Open": 10, "Narrow_Eyes": 11,
                            "Beard": 12, "Smiling": 15, "Old": 16}
    assert TABLE_ATTRIBUTES == ("Beard", "Bushy_Eyebrows", "Old", "Smiling")
    assert class_index("Old") == 5 and class_index("Old", 17) == 16


def test_labels_as_method_md():
    assert len(LABELS) == 19
    assert LABELS[0] == "background" and LABELS[6] == "eye_g" and LABELS[10] == "nose"
    assert LABELS[14] == "neck" and LABELS[17] == "hair" and LABELS[18] == "hat"


def test_component_sets_exactly_as_method_md():
    r = lambda a, b: set(range(a, b + 1))  # noqa: E731
    org = {"Bushy_Eyebrows": {1, 2, 3, 10}, "Beard": {1, 2, 3, 10, 14},
           "Old": {1, 2, 3, 10, 11, 12, 13, 14}}
    for name in ATTRIBUTES:
        assert ORG_COMPONENTS[name] == org.get(name, {1, 2, 3, 10, 11, 12, 13}), name
        modif = r(1, 6) | r(10, 14) if name in ("Beard", "Old") else r(1, 6) | r(10, 13)
        assert MODIF_COMPONENTS[name] == modif, name
    assert PAPER_COMPONENTS == {**org, "other": r(1, 6) | r(10, 14)}


def test_parsing_to_mask_and_segmentation():
    parsing = torch.arange(19).view(1, 1, 19).repeat(2, 3, 1)
    m = parsing_to_mask(parsing, {1, 14})
    assert m.dtype == torch.float32 and m.shape == parsing.shape
    assert m.sum() == 2 * 3 * 2 and m[0, 0, 1] == 1 and m[0, 0, 14] == 1 and m[0, 0, 17] == 0
    s_org, s_modif = segmentation_masks(parsing, parsing, "Beard")
    assert s_org[0, 0].nonzero().flatten().tolist() == [1, 2, 3, 10, 14]
    assert s_modif[0, 0].nonzero().flatten().tolist() == [1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14]


def test_threshold_and_blur_masks():
    """threshold_mask is 0/1 at the threshold; blur_mask keeps a constant mask, keeps the mass of an
    interior impulse, equals the dense 2-D Gaussian there, and rejects a bad sigma in one line."""
    import torch.nn.functional as F

    from paperlib.method.masks import blur_mask, gaussian_kernel, threshold_mask

    m = torch.tensor([[[0.1, 0.5, 0.51], [0.9, 0.0, 1.0]]])
    assert threshold_mask(m, 0.5).tolist() == [[[0.0, 0.0, 1.0], [1.0, 0.0, 1.0]]]
    assert torch.allclose(blur_mask(torch.full((2, 20, 24), 0.7), 3.0), torch.full((2, 20, 24), 0.7), atol=1e-6)
    impulse = torch.zeros(1, 41, 41)
    impulse[0, 20, 20] = 1
    out = blur_mask(impulse, 2.5)
    assert out.sum().item() == pytest.approx(1.0, abs=1e-6)
    k = gaussian_kernel(2.5)
    dense = F.conv2d(impulse[:, None], torch.outer(k, k)[None, None], padding=len(k) // 2)[:, 0]
    assert torch.allclose(out, dense, atol=1e-7)
    yy, xx = torch.meshgrid(torch.arange(41.0), torch.arange(41.0), indexing="ij")
    var = (out[0] * ((yy - 20) ** 2)).sum().item()
    assert var == pytest.approx(2.5 ** 2, rel=0.02)  # the kernel's variance is sigma^2 (up to truncation)
    for bad in (0, -1.0, float("nan"), True):
        with pytest.raises(ValueError, match="^sigma: "):
            blur_mask(impulse, bad)
    with pytest.raises(ValueError, match="^t: "):
        threshold_mask(m, 1.5)
